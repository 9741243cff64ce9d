"""Lockout after 3 wrong passwords until the next Warsaw day, staff unlock, and access blocks."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.models import OutboundSms
from kartosfera.users.lockout import lock_end
from kartosfera.users.models import User, UserKind
from kartosfera.users.services import (
    AccessBlockedBy,
    StaffOnly,
    user_access_block,
    user_access_unblock,
    user_unlock,
)
from kartosfera.users.tests.helpers import GENERIC_ERROR, LOGIN_CODE_URL, last_sms

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.UTC
LOCK_MESSAGE = "Dostęp do portalu zablokowany do"


def _warsaw(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WARSAW)


@pytest.fixture
def agent(db) -> User:
    return User.objects.create_user(username="agent.kowalska", password="Staff-password-123", kind=UserKind.STAFF)


def _three_wrong(portal, person) -> None:
    for _ in range(3):
        response = portal.password_step(person.identifier, "to-nie-jest-moje-haslo")
        assert GENERIC_ERROR in response.content.decode()


# --- When the lock ends ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected_utc"),
    [
        # An ordinary winter day: midnight CET is 23:00 UTC.
        (_warsaw(2026, 1, 15, 9, 30), dt.datetime(2026, 1, 15, 23, 0, tzinfo=UTC)),
        # An ordinary summer day: midnight CEST is 22:00 UTC.
        (_warsaw(2026, 7, 1, 23, 59), dt.datetime(2026, 7, 1, 22, 0, tzinfo=UTC)),
        # 29 March 2026, clocks go forward at 02:00: a 23-hour day. Before and after the change
        # the lock ends at the same instant, midnight CEST, not 24 hours on.
        (_warsaw(2026, 3, 29, 0, 30), dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),
        (_warsaw(2026, 3, 29, 12, 0), dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),
        (dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC), dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),
        # The evening before the change: midnight is still CET... of a day that ends in CEST.
        (_warsaw(2026, 3, 28, 22, 0), dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),
        # 25 October 2026, clocks go back at 03:00: a 25-hour day; 02:30 happens twice.
        (_warsaw(2026, 10, 25, 0, 30), dt.datetime(2026, 10, 25, 23, 0, tzinfo=UTC)),
        (dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 23, 0, tzinfo=UTC)),  # 02:30 CEST
        (dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 23, 0, tzinfo=UTC)),  # 02:30 CET
        (_warsaw(2026, 10, 24, 23, 59), dt.datetime(2026, 10, 24, 22, 0, tzinfo=UTC)),
        # Just after midnight: the lock lasts the whole day.
        (_warsaw(2026, 11, 21, 0, 0), dt.datetime(2026, 11, 21, 23, 0, tzinfo=UTC)),
        # A UTC moment that is already the next day in Warsaw.
        (dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), dt.datetime(2027, 1, 1, 23, 0, tzinfo=UTC)),
    ],
)
def test_a_lock_ends_at_the_next_midnight_in_warsaw(now, expected_utc):
    end = lock_end(now)

    assert end == expected_utc
    local = end.astimezone(WARSAW)
    assert (local.hour, local.minute) == (0, 0)
    assert local.date() == now.astimezone(WARSAW).date() + dt.timedelta(days=1)


def test_lock_end_refuses_a_naive_datetime():
    with pytest.raises(ValueError):
        lock_end(dt.datetime(2026, 1, 1, 12, 0))


# --- Locking ----------------------------------------------------------------------------


def test_two_wrong_passwords_do_not_lock(portal, cardholder):
    for _ in range(2):
        portal.password_step(cardholder.identifier, "to-nie-jest-moje-haslo")

    cardholder.user.refresh_from_db()
    assert cardholder.user.failed_login_count == 2
    assert cardholder.user.locked_until is None
    response = portal.password_step(cardholder.identifier, cardholder.password)
    assert response["Location"] == LOGIN_CODE_URL


def test_three_wrong_passwords_lock_until_the_next_warsaw_midnight_and_tell_the_owner(portal, cardholder):
    with time_machine.travel(_warsaw(2026, 3, 29, 1, 30), tick=False):
        _three_wrong(portal, cardholder)

    cardholder.user.refresh_from_db()
    assert cardholder.user.locked_until == _warsaw(2026, 3, 30, 0, 0)
    assert cardholder.user.failed_login_count == 3
    locked = AuditEvent.objects.get(action="users.access.locked")
    assert locked.customer_id == cardholder.customer.pk
    assert locked.after == {"until": "2026-03-30T00:00:00+02:00", "failed_in_a_row": 3}
    sms = OutboundSms.objects.get(purpose="users.locked")
    assert sms.to == cardholder.customer.phone_on_file
    text = last_sms(cardholder.customer.phone_on_file)
    assert "30.03.2026 00:00" in text
    assert "infolini" in text
    assert settings.HELPLINE_PHONE in text  # the number to call, not just "the helpline"


def test_the_third_wrong_password_shows_only_the_generic_error(portal, cardholder):
    for _ in range(2):
        portal.password_step(cardholder.identifier, "to-nie-jest-moje-haslo")

    response = portal.password_step(cardholder.identifier, "to-nie-jest-moje-haslo")

    assert GENERIC_ERROR in response.content.decode()
    assert LOCK_MESSAGE not in response.content.decode()


def test_while_locked_a_wrong_password_gets_the_generic_error(portal, cardholder):
    _three_wrong(portal, cardholder)

    response = portal.password_step(cardholder.identifier, "jeszcze-inne-haslo")

    html = response.content.decode()
    assert GENERIC_ERROR in html
    assert LOCK_MESSAGE not in html
    cardholder.user.refresh_from_db()
    assert cardholder.user.failed_login_count == 3  # not counted on: the lock is not extended
    assert OutboundSms.objects.filter(purpose="users.locked").count() == 1


def test_while_locked_even_the_right_password_gets_the_generic_error(portal, cardholder):
    """A different answer for the right password would tell a guesser when a guess was right."""
    with time_machine.travel(_warsaw(2026, 11, 21, 14, 5), tick=False):
        _three_wrong(portal, cardholder)
        right = portal.password_step(cardholder.identifier, cardholder.password)
        wrong = portal.password_step(cardholder.identifier, "to-tez-nie-jest-moje-haslo")

    assert right.status_code == wrong.status_code == 200
    assert GENERIC_ERROR in right.content.decode() and GENERIC_ERROR in wrong.content.decode()
    assert LOCK_MESSAGE not in right.content.decode()
    assert "Location" not in right
    attempts = AuditEvent.objects.filter(action="users.login.failed").order_by("id")
    while_locked = [event.after for event in attempts if event.after.get("while_locked")]
    assert while_locked == [
        {"reason": "locked", "while_locked": True},
        {"reason": "bad_credentials", "while_locked": True},
    ]


def test_the_owner_learns_until_when_and_how_to_unlock_by_sms(portal, cardholder):
    with time_machine.travel(_warsaw(2026, 11, 21, 14, 5), tick=False):
        _three_wrong(portal, cardholder)
    text = last_sms()
    assert "22.11.2026 00:00" in text
    assert "infolini" in text or "helpline" in text


def test_the_lock_lifts_itself_at_midnight_in_warsaw(portal, cardholder):
    with time_machine.travel(_warsaw(2026, 10, 25, 23, 50), tick=False):
        _three_wrong(portal, cardholder)
        assert GENERIC_ERROR in portal.password_step(cardholder.identifier, cardholder.password).content.decode()
    with time_machine.travel(_warsaw(2026, 10, 25, 23, 59, 59), tick=False):
        assert GENERIC_ERROR in portal.password_step(cardholder.identifier, cardholder.password).content.decode()
    with time_machine.travel(_warsaw(2026, 10, 26, 0, 0), tick=False):
        response = portal.password_step(cardholder.identifier, cardholder.password)
        assert response["Location"] == LOGIN_CODE_URL
        cardholder.user.refresh_from_db()
        # The new day starts with a clean slate: one more mistake does not lock again.
        assert cardholder.user.failed_login_count == 0
        assert cardholder.user.locked_until is None


def test_after_the_lock_ends_one_wrong_password_does_not_lock_again(portal, cardholder):
    with time_machine.travel(_warsaw(2026, 5, 4, 12, 0), tick=False):
        _three_wrong(portal, cardholder)
    with time_machine.travel(_warsaw(2026, 5, 5, 8, 0), tick=False):
        portal.password_step(cardholder.identifier, "to-nie-jest-moje-haslo")
        cardholder.user.refresh_from_db()
        assert cardholder.user.failed_login_count == 1
        assert not cardholder.user.is_locked()


def test_a_completed_sign_in_in_between_resets_the_count(portal, cardholder):
    for _ in range(2):
        portal.password_step(cardholder.identifier, "to-nie-jest-moje-haslo")
    portal.sign_in(cardholder.identifier, cardholder.password)
    portal.client.post(reverse("users:logout"))

    portal.password_step(cardholder.identifier, "to-nie-jest-moje-haslo")

    cardholder.user.refresh_from_db()
    assert cardholder.user.failed_login_count == 1
    assert cardholder.user.locked_until is None


def test_wrong_passwords_for_one_customer_never_lock_another(portal, cardholder, second_cardholder):
    _three_wrong(portal, cardholder)

    second_cardholder.user.refresh_from_db()
    assert second_cardholder.user.failed_login_count == 0
    assert not second_cardholder.user.is_locked()


# --- Staff unlock -----------------------------------------------------------------------


def test_staff_unlock_the_same_day_with_a_reason(portal, cardholder, agent):
    _three_wrong(portal, cardholder)

    user = user_unlock(
        actor=Actor.for_user(agent), user=cardholder.user, reason="Caller verified by security questions"
    )

    assert user.locked_until is None
    assert user.failed_login_count == 0
    event = AuditEvent.objects.get(action="users.access.unlocked")
    assert event.actor_id == str(agent.pk)
    assert event.customer_id == cardholder.customer.pk
    assert event.after == {"reason": "Caller verified by security questions"}
    assert event.before["failed_in_a_row"] == 3
    assert portal.password_step(cardholder.identifier, cardholder.password)["Location"] == LOGIN_CODE_URL


def test_unlock_needs_a_reason(cardholder, agent):
    with pytest.raises(DomainError):
        user_unlock(actor=Actor.for_user(agent), user=cardholder.user, reason="  ")


def test_a_cardholder_cannot_unlock_themselves(cardholder):
    with pytest.raises(StaffOnly):
        user_unlock(actor=Actor.for_user(cardholder.user), user=cardholder.user, reason="please")


# --- Access blocks ------------------------------------------------------------------------


def test_a_self_block_is_immediate_audited_and_ends_the_session(client, cardholder):
    client.force_login(cardholder.user)

    user = user_access_block(actor=Actor.for_user(cardholder.user), user=cardholder.user, by=AccessBlockedBy.CUSTOMER)

    assert user.is_access_blocked
    assert user.access_blocked_by == "customer"
    event = AuditEvent.objects.get(action="users.access.blocked")
    assert event.after == {"by": "customer"}
    response = client.get(reverse("portal:card_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))


def test_blocking_twice_changes_nothing(cardholder):
    actor = Actor.for_user(cardholder.user)
    first = user_access_block(actor=actor, user=cardholder.user, by="customer")

    second = user_access_block(actor=actor, user=cardholder.user, by="customer")

    assert second.access_blocked_at == first.access_blocked_at
    assert AuditEvent.objects.filter(action="users.access.blocked").count() == 1


def test_only_staff_can_block_as_the_bank(cardholder):
    with pytest.raises(StaffOnly):
        user_access_block(actor=Actor.for_user(cardholder.user), user=cardholder.user, by=AccessBlockedBy.STAFF)


def test_a_blocked_user_is_told_to_contact_the_bank_only_after_the_right_password(portal, cardholder, agent):
    user_access_block(
        actor=Actor.for_user(agent), user=cardholder.user, by=AccessBlockedBy.STAFF, reason="Stolen phone"
    )

    wrong = portal.password_step(cardholder.identifier, "to-nie-jest-moje-haslo")
    right = portal.password_step(cardholder.identifier, cardholder.password)

    assert GENERIC_ERROR in wrong.content.decode()
    # The generic answer explains the lock after wrong passwords to everybody; only the right
    # password learns of this block.
    assert "Twój dostęp do portalu jest zablokowany." not in wrong.content.decode()
    assert "Twój dostęp do portalu jest zablokowany." in right.content.decode()
    assert "Location" not in right
    assert AuditEvent.objects.get(action="users.login.refused").after == {"reason": "blocked"}
    assert AuditEvent.objects.get(action="users.access.blocked").after == {"by": "staff", "reason": "Stolen phone"}


def test_only_staff_unblock_and_then_login_works(portal, cardholder, agent):
    user_access_block(actor=Actor.for_user(cardholder.user), user=cardholder.user, by="customer")
    with pytest.raises(StaffOnly):
        user_access_unblock(actor=Actor.for_user(cardholder.user), user=cardholder.user, reason="I found my phone")

    user = user_access_unblock(actor=Actor.for_user(agent), user=cardholder.user, reason="Verified at the branch")

    assert not user.is_access_blocked
    assert user.access_blocked_by == ""
    event = AuditEvent.objects.get(action="users.access.unblocked")
    assert event.before["blocked_by"] == "customer"
    assert event.after == {"reason": "Verified at the branch"}
    assert portal.password_step(cardholder.identifier, cardholder.password)["Location"] == LOGIN_CODE_URL


def test_unblock_needs_a_reason(cardholder, agent):
    user_access_block(actor=Actor.for_user(cardholder.user), user=cardholder.user, by="customer")

    with pytest.raises(DomainError):
        user_access_unblock(actor=Actor.for_user(agent), user=cardholder.user, reason="")


def test_the_system_actor_may_unlock_and_unblock(cardholder):
    system = Actor.system("back-office-batch")
    user_access_block(actor=Actor.for_user(cardholder.user), user=cardholder.user, by="customer")

    user_access_unblock(actor=system, user=cardholder.user, reason="bank decision")
    user_unlock(actor=system, user=cardholder.user, reason="bank decision")

    cardholder.user.refresh_from_db()
    assert not cardholder.user.is_access_blocked


# --- The one answer explains the lock to everybody ------------------------------------------

_LOGIN_ERROR = re.compile(r'<div class="alert alert--error" role="alert" id="login-error">.*?</div>', re.DOTALL)


def _login_error(response) -> str:
    match = _LOGIN_ERROR.search(response.content.decode())
    assert match, response.content.decode()[:500]
    return match.group(0)


def test_the_answer_explains_the_lock_and_is_the_same_for_unknown_wrong_and_locked(
    portal, cardholder, second_cardholder
):
    unknown = _login_error(portal.password_step("99999999999", "nie-wiem-jakie-haslo"))
    wrong_password = _login_error(portal.password_step(second_cardholder.identifier, "to-nie-jest-moje-haslo"))
    _three_wrong(portal, cardholder)
    locked_right_password = _login_error(portal.password_step(cardholder.identifier, cardholder.password))

    # Byte for byte: nothing tells whether the identifier exists or the access is locked.
    assert unknown == wrong_password == locked_right_password
    assert GENERIC_ERROR in unknown
    # ...and it says what happens after wrong passwords, until when, and how to unlock today.
    assert "Po 3 błędnych hasłach z rzędu dostęp do portalu zostaje zablokowany do północy" in unknown
    assert "na numer telefonu zapisany w banku wysyłamy SMS" in unknown
    assert "tego samego dnia" in unknown
    assert '<a href="tel:+48862155000">+48 86 215 50 00</a>' in unknown
    assert "placówkę" in unknown


def test_the_explanation_gives_the_configured_helpline(portal, db, settings):
    settings.HELPLINE_PHONE = "+48 22 123 45 67"
    error = _login_error(portal.password_step("99999999999", "nie-wiem-jakie-haslo"))
    assert '<a href="tel:+48221234567">+48 22 123 45 67</a>' in error


def test_the_explanation_reads_in_english_too(portal, db):
    portal.client.cookies["django_language"] = "en"
    response = portal.password_step("99999999999", "no-idea-what-password")
    error = _login_error(response)
    assert "After 3 wrong passwords in a row, access to the portal is locked until midnight" in error


# --- Whose helpline: the person's bank when there is one, else the group's ----------------------


def _lomza():
    from kartosfera.testing.factories import bank_factory

    return bank_factory("BS-LOMZA", short_name="BS Łomża", sms_sender="BS Lomza", helpline_phone="+48 86 216 00 00")


def test_the_lock_sms_of_a_customer_of_one_bank_comes_from_it_with_its_helpline(portal, db):
    from kartosfera.notifications.backends import locmem
    from kartosfera.testing import factories

    bank = _lomza()
    customer = factories.customer_factory(bank=bank)
    factories.cardholder_user_factory(customer=customer)
    person = type("P", (), {"identifier": customer.pesel})()

    _three_wrong(portal, person)

    [sms] = [m for m in locmem.outbox if m.to == customer.phone_on_file]
    assert sms.sender == "BS Lomza"
    assert sms.text.startswith("BS Lomza: ")
    assert "+48 86 216 00 00" in sms.text
    assert OutboundSms.objects.get(purpose="users.locked").sender == "BS Lomza"


def test_the_lock_sms_of_a_customer_of_two_banks_comes_from_the_group_with_its_helpline(portal, cardholder):
    from kartosfera.notifications.backends import locmem
    from kartosfera.testing import factories

    customer = cardholder.customer
    factories.customer_factory(bank=_lomza(), pesel=customer.pesel, first_name="Anna", last_name="Nowak")

    _three_wrong(portal, cardholder)

    [sms] = [m for m in locmem.outbox if m.to == customer.phone_on_file]
    assert sms.sender == ""
    assert sms.text.startswith("Kartosfera: ")
    assert settings.HELPLINE_PHONE in sms.text
    assert "+48 86 216 00 00" not in sms.text
