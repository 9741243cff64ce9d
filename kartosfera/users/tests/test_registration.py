"""Registration: PESEL or bank ID → activation password by SMS to the phone on file → own password → signed in."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.models import Customer, Residency
from kartosfera.notifications.backends import locmem
from kartosfera.sca.models import ChallengePurpose, ChallengeState, SmsChallenge
from kartosfera.testing import factories
from kartosfera.users.models import User, UserKind
from kartosfera.users.registration import registration_identifier_digest
from kartosfera.users.services import user_access_block, user_unlock
from kartosfera.users.session_keys import REGISTRATION
from kartosfera.users.tests.helpers import (
    GENERIC_ERROR,
    NEW_PASSWORD,
    REGISTER_ACTIVATE_URL,
    REGISTER_PASSWORD_URL,
    REGISTER_SEND_URL,
    REGISTER_URL,
    Portal,
    last_activation_password,
    last_sms,
)

CARD_LIST = reverse("portal:card_list")
LOCK_MESSAGE = "Dostęp do portalu zablokowany do"


def _to_activation(portal, identifier: str) -> None:
    assert portal.post(REGISTER_URL, {"identifier": identifier})["Location"] == REGISTER_SEND_URL
    assert portal.post(REGISTER_SEND_URL)["Location"] == REGISTER_ACTIVATE_URL


def _to_password(portal, identifier: str) -> None:
    _to_activation(portal, identifier)
    response = portal.post(REGISTER_ACTIVATE_URL, {"activation_password": last_activation_password()})
    assert response["Location"] == REGISTER_PASSWORD_URL


def _set_password(portal, password: str = NEW_PASSWORD, again: str | None = None):
    return portal.post(REGISTER_PASSWORD_URL, {"new_password": password, "new_password_again": again or password})


# --- Step 1: who ------------------------------------------------------------------------


def test_the_registration_page_is_polish_and_linked_from_sign_in(client, db):
    html = client.get(REGISTER_URL).content.decode()

    assert "Zarejestruj się" in html
    assert "Rejestracja, krok 1 z 4" in html
    assert "PESEL lub numer identyfikacyjny" in html
    assert f'href="{REGISTER_URL}"' in client.get(reverse("users:login")).content.decode()


def test_a_pesel_with_a_wrong_check_digit_gets_a_clear_message(portal, stranger):
    pesel = stranger.identifier
    wrong = pesel[:-1] + str((int(pesel[-1]) + 1) % 10)

    response = portal.post(REGISTER_URL, {"identifier": wrong})

    assert response.status_code == 200
    assert "Cyfra kontrolna numeru PESEL jest nieprawidłowa." in response.content.decode()
    assert REGISTRATION not in portal.client.session


def test_a_short_number_gets_the_pesel_length_message(portal, db):
    response = portal.post(REGISTER_URL, {"identifier": "8503141"})

    assert "PESEL musi mieć dokładnie 11 cyfr." in response.content.decode()


# --- Who is a customer is never shown [ASVS 5.0 6.3.8] --------------------------------------------

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
WRONG = "ABCDEFGHJK"


def _answer(response) -> tuple[int, str, str, list[str]]:
    """What a visitor sees of a response: status, redirect, page (without the CSRF token) and which cookies it sets."""
    body = _CSRF.sub("", response.content.decode())
    return response.status_code, response.get("Location", ""), body, sorted(response.cookies)


def _walk(portal: Portal, identifier: str, wrong: str) -> list[tuple[str, tuple[int, str, str, list[str]]]]:
    """Every answer of steps 1 to 3: wrong passwords, expiry, a new password, the end after three wrong ones;
    then starting again and asking for one new password too many."""
    seen = []

    def see(label: str, response) -> None:
        seen.append((label, _answer(response)))

    with time_machine.travel(START, tick=False):
        see("identifier", portal.post(REGISTER_URL, {"identifier": identifier}))
        see("send page", portal.get(REGISTER_SEND_URL))
        see("send", portal.post(REGISTER_SEND_URL))
        see("activation page", portal.get(REGISTER_ACTIVATE_URL))
        see("wrong 1", portal.post(REGISTER_ACTIVATE_URL, {"activation_password": wrong}))
        see("password step too early", portal.get(REGISTER_PASSWORD_URL))
    with time_machine.travel(START + dt.timedelta(minutes=10, seconds=1), tick=False):
        see("expired page", portal.get(REGISTER_ACTIVATE_URL))
        see("expired try", portal.post(REGISTER_ACTIVATE_URL, {"activation_password": wrong}))
        see("resend", portal.post(REGISTER_ACTIVATE_URL, {"action": "resend"}))
        see("after resend", portal.get(REGISTER_ACTIVATE_URL))
        see("wrong 2", portal.post(REGISTER_ACTIVATE_URL, {"activation_password": wrong}))
        see("wrong 3", portal.post(REGISTER_ACTIVATE_URL, {"activation_password": wrong}))
        see("back at the start", portal.get(REGISTER_URL))
        see("again", portal.post(REGISTER_URL, {"identifier": identifier}))
        see("send again", portal.post(REGISTER_SEND_URL))
        for n in (1, 2, 3):
            see(f"resend {n}", portal.post(REGISTER_ACTIVATE_URL, {"action": "resend"}))
        see("after too many sends", portal.get(REGISTER_URL))
    return seen


def _browser(n: int, capture) -> Portal:
    # An address of its own: the per-address limits count each walk alone.
    return Portal(client=Client(REMOTE_ADDR=f"192.0.2.{n}"), capture=capture)


def test_unknown_no_phone_and_customer_get_the_same_pages_and_only_the_customer_an_sms(
    stranger, django_capture_on_commit_callbacks
):
    """Who is a customer, and who has a phone, cannot be read from the registration [ASVS 5.0 6.3.8]."""
    unknown = factories.make_pesel(dt.date(1970, 1, 1), 999)
    no_phone = factories.customer_factory(phone_on_file=None)
    phone = stranger.customer.phone_on_file
    # One wrong password for all three: the form shows back what was typed.
    walks = {}
    for n, (name, identifier) in enumerate(
        (("unknown", unknown), ("no phone", no_phone.pesel), ("customer", stranger.identifier))
    ):
        walks[name] = _walk(_browser(n, django_capture_on_commit_callbacks), identifier, WRONG)
        if name != "customer":
            assert not locmem.outbox, name

    assert walks["unknown"] == walks["no phone"] == walks["customer"]
    answers = dict(walks["customer"])
    assert answers["identifier"][:2] == answers["again"][:2] == (302, REGISTER_SEND_URL)
    assert answers["send"][:2] == (302, REGISTER_ACTIVATE_URL)
    assert answers["wrong 3"][:2] == answers["resend 3"][:2] == (302, REGISTER_URL)
    assert "Kod jest nieprawidłowy. Pozostałe próby: 2." in answers["wrong 1"][2]
    assert "Kod wygasł" in answers["expired try"][2]
    assert "Trzy razy wpisano błędne hasło aktywacyjne" in answers["back at the start"][2]
    assert "Rejestracja, krok 2 z 4" in answers["send page"][2]
    masked = f"*** {phone[-3:]}"
    assert not any(masked in answer[2] or phone in answer[2] for _, answer in walks["customer"])
    # Only the customer with a phone got text messages: 2 activation passwords, then 3 (2 resends).
    assert [m.to for m in locmem.outbox] == [phone] * 5
    assert WRONG not in {m.text for m in locmem.outbox}
    # The audit trail, which the visitor never sees, keeps the real reasons.
    refused = AuditEvent.objects.filter(action="users.registration.refused")
    assert sorted((e.after["reason"], e.customer_id) for e in refused) == [
        ("activation_attempts_exceeded", stranger.customer.pk),
        ("no_phone", no_phone.pk),
        ("no_phone", no_phone.pk),
        ("not_found", None),
        ("not_found", None),
    ]
    assert unknown not in repr([(e.before, e.after, e.actor_label, e.object_id) for e in AuditEvent.objects.all()])
    assert set(
        AuditEvent.objects.filter(action="users.registration.started").values_list("customer_id", flat=True)
    ) == {stranger.customer.pk}
    # No challenge row for an identifier that names nobody: scanning grows no table.
    assert set(SmsChallenge.objects.values_list("customer_id", flat=True)) == {stranger.customer.pk}


def test_a_bank_id_that_names_nobody_gets_the_same_pages_as_a_non_residents(django_capture_on_commit_callbacks, db):
    factories.customer_factory(residency=Residency.NON_RESIDENT, nonresident_id="NR00000021")

    known = _walk(_browser(1, django_capture_on_commit_callbacks), "nr00000021", WRONG)
    assert len(locmem.outbox) == 5
    unknown = _walk(_browser(2, django_capture_on_commit_callbacks), "nr00000099", WRONG)

    assert known == unknown
    assert len(locmem.outbox) == 5


def test_the_decoy_never_takes_any_code(portal, db):
    """No activation password went out, so none can be right: not even one of another registration."""
    portal.post(REGISTER_URL, {"identifier": factories.make_pesel(dt.date(1970, 1, 1), 999)})
    portal.post(REGISTER_SEND_URL)
    state = portal.client.session[REGISTRATION]
    assert set(state) == {"identifier", "decoy"}

    for code in ("AAAAAAAAAA", "2222222222"):
        assert portal.post(REGISTER_ACTIVATE_URL, {"activation_password": code}).status_code == 200
    assert portal.post(REGISTER_ACTIVATE_URL, {"activation_password": "ZZZZZZZZZZ"})["Location"] == REGISTER_URL
    assert portal.get(REGISTER_PASSWORD_URL)["Location"] == REGISTER_URL
    assert not User.objects.exists()


def test_a_signed_in_user_is_sent_to_the_cards(client, cardholder):
    client.force_login(cardholder.user)

    assert client.get(REGISTER_URL)["Location"] == CARD_LIST


# --- Step 2: the phone on file ------------------------------------------------------------


def test_the_send_page_shows_no_phone_number_and_nothing_is_sent_before_the_user_asks(portal, stranger):
    portal.post(REGISTER_URL, {"identifier": stranger.identifier})

    html = portal.get(REGISTER_SEND_URL).content.decode()

    phone = stranger.customer.phone_on_file
    # No number, masked or not (its last digits alone may occur elsewhere, e.g. in the bank's helpline number).
    assert "***" not in html and phone not in html and phone[3:] not in html
    assert f"{phone[3:6]} {phone[6:9]} {phone[9:]}" not in html
    assert "Rejestracja, krok 2 z 4" in html
    assert not locmem.outbox
    assert portal.client.session[REGISTRATION] == {
        "identifier": registration_identifier_digest(stranger.identifier),
        "customer_id": stranger.customer.pk,
        "previous_challenge": "",
    }
    assert stranger.identifier not in repr(dict(portal.client.session))


def test_the_activation_password_goes_to_the_phone_on_file_and_only_ids_stay_in_the_session(portal, stranger):
    _to_activation(portal, stranger.identifier)

    challenge = SmsChallenge.objects.get()
    assert challenge.purpose == ChallengePurpose.REGISTRATION
    assert challenge.customer == stranger.customer
    assert challenge.user is None
    assert abs(challenge.expires_at - challenge.created_at - dt.timedelta(minutes=10)) < dt.timedelta(seconds=1)
    assert [m.to for m in locmem.outbox] == [stranger.customer.phone_on_file]
    activation = last_activation_password()
    assert portal.client.session[REGISTRATION] == {
        "identifier": registration_identifier_digest(stranger.identifier),
        "customer_id": stranger.customer.pk,
        "challenge": str(challenge.public_id),
    }
    assert activation not in repr(dict(portal.client.session))
    assert activation not in challenge.code_digest
    started = AuditEvent.objects.get(action="users.registration.started")
    assert started.customer_id == stranger.customer.pk
    assert started.after["registered_before"] is False
    assert started.after["phone"].startswith("+48 ***")


def test_step_pages_without_the_earlier_steps_go_back_to_the_start(portal, db):
    for url in (REGISTER_SEND_URL, REGISTER_ACTIVATE_URL, REGISTER_PASSWORD_URL):
        assert portal.get(url)["Location"] == REGISTER_URL


def test_the_password_step_before_the_activation_password_goes_to_the_activation(portal, stranger):
    _to_activation(portal, stranger.identifier)

    response = portal.post(REGISTER_PASSWORD_URL, {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})

    assert response["Location"] == REGISTER_ACTIVATE_URL
    assert not User.objects.filter(customer=stranger.customer).exists()


def test_starting_again_cancels_the_previous_activation_password(portal, stranger):
    _to_activation(portal, stranger.identifier)
    first = SmsChallenge.objects.get()
    first_password = last_activation_password()

    _to_activation(portal, stranger.identifier)

    first.refresh_from_db()
    assert first.state == ChallengeState.CANCELLED
    response = portal.post(REGISTER_ACTIVATE_URL, {"activation_password": first_password})
    if first_password != last_activation_password():
        assert response.status_code == 200  # the old one is just wrong for the new challenge


# --- Step 3: the activation password ---------------------------------------------------------


def test_the_activation_password_is_accepted_in_lower_case_and_with_spaces(portal, stranger):
    _to_activation(portal, stranger.identifier)
    code = last_activation_password()

    response = portal.post(REGISTER_ACTIVATE_URL, {"activation_password": f" {code[:5].lower()} {code[5:]} "})

    assert response["Location"] == REGISTER_PASSWORD_URL
    assert SmsChallenge.objects.get().state == ChallengeState.CONFIRMED


def test_a_wrong_activation_password_says_how_many_tries_are_left(portal, stranger):
    _to_activation(portal, stranger.identifier)

    response = portal.post(REGISTER_ACTIVATE_URL, {"activation_password": "WRONGWRONG"})

    assert response.status_code == 200
    assert "Kod jest nieprawidłowy. Pozostałe próby: 2." in response.content.decode()


def test_three_wrong_activation_passwords_end_the_registration(portal, stranger):
    _to_activation(portal, stranger.identifier)
    for _ in range(2):
        portal.post(REGISTER_ACTIVATE_URL, {"activation_password": "WRONGWRONG"})

    response = portal.post(REGISTER_ACTIVATE_URL, {"activation_password": "WRONGWRONG"})

    assert response["Location"] == REGISTER_URL
    assert REGISTRATION not in portal.client.session
    assert "Trzy razy wpisano błędne hasło aktywacyjne" in portal.get(REGISTER_URL).content.decode()
    event = AuditEvent.objects.get(action="users.registration.refused")
    assert event.after == {"reason": "activation_attempts_exceeded"}
    assert event.customer_id == stranger.customer.pk


def test_the_activation_password_expires_after_10_minutes(portal, stranger):
    _to_activation(portal, stranger.identifier)
    code = last_activation_password()

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=9, seconds=50)):
        assert "wygasło" not in portal.get(REGISTER_ACTIVATE_URL).content.decode()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10, seconds=1)):
        assert "Hasło aktywacyjne wygasło. Poproś o nowe." in portal.get(REGISTER_ACTIVATE_URL).content.decode()
        response = portal.post(REGISTER_ACTIVATE_URL, {"activation_password": code})
        assert "Kod wygasł" in response.content.decode()
        portal.post(REGISTER_ACTIVATE_URL, {"action": "resend"})
        response = portal.post(REGISTER_ACTIVATE_URL, {"activation_password": last_activation_password()})
        assert response["Location"] == REGISTER_PASSWORD_URL


# --- Step 4: the password --------------------------------------------------------------------


def test_first_registration_creates_the_portal_user_and_signs_in(portal, stranger):
    _to_password(portal, stranger.identifier)

    response = _set_password(portal)

    assert response["Location"] == CARD_LIST
    user = User.objects.get(customer=stranger.customer)
    assert user.username == f"c{stranger.customer.pk}"
    assert user.kind == UserKind.CUSTOMER
    assert user.portal_phone == stranger.customer.phone_on_file
    assert user.check_password(NEW_PASSWORD)
    assert user.password_changed_at is not None
    assert portal.signed_in_user_id == user.pk
    assert REGISTRATION not in portal.client.session
    assert "Rejestracja zakończona. Witamy w Kartosferze!" in portal.get(CARD_LIST).content.decode()
    completed = AuditEvent.objects.get(action="users.registration.completed")
    assert completed.after == {"new_user": True, "access_blocked": False, "locked": False}
    assert completed.actor_type == ActorType.CUSTOMER
    assert AuditEvent.objects.get(action="users.login.succeeded").after == {"method": "registration"}
    assert SmsChallenge.objects.get().completed_at is not None
    # The registration's longer session age (60 + 30 minutes) does not carry over to the signed-in session.
    assert "_session_expiry" not in portal.client.session


def test_a_non_resident_registers_with_the_bank_assigned_id(portal, db):
    customer = factories.customer_factory(residency=Residency.NON_RESIDENT, nonresident_id="NR00000021")

    portal.register("nr00000021")

    assert portal.signed_in_user_id == User.objects.get(customer=customer).pk


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("krótkie", "Hasło jest za krótkie: musi mieć co najmniej 10 znaków."),
        ("x" * 129, "Hasło jest za długie: może mieć najwyżej 128 znaków."),
        ("password123", "To hasło jest jednym z najczęściej używanych"),
        ("zielinski-1990-haslo", "Hasło nie może zawierać Twojego numeru PESEL"),
    ],
)
def test_a_password_against_the_policy_is_refused_with_the_reason(portal, stranger, password, message):
    _to_password(portal, stranger.identifier)

    response = _set_password(portal, password)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(customer=stranger.customer).exists()
    assert f'value="{password}"' not in response.content.decode()


def test_two_different_passwords_are_refused(portal, stranger):
    _to_password(portal, stranger.identifier)

    response = _set_password(portal, NEW_PASSWORD, "Inne hasło całkiem inne")

    assert "Wpisane hasła się różnią." in response.content.decode()
    assert not User.objects.filter(customer=stranger.customer).exists()


def test_the_password_must_follow_within_30_minutes(portal, stranger):
    _to_password(portal, stranger.identifier)

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=31)):
        response = _set_password(portal)

    assert response["Location"] == REGISTER_URL
    assert not User.objects.filter(customer=stranger.customer).exists()


def test_an_activation_password_completes_one_registration_only(portal, second_portal, stranger):
    _to_password(portal, stranger.identifier)
    state = dict(portal.client.session[REGISTRATION])
    _set_password(portal)
    session = second_portal.client.session
    session[REGISTRATION] = state  # a copy of the state, replayed in another browser
    session.save()

    response = second_portal.post(
        REGISTER_PASSWORD_URL, {"new_password": "Zupełnie inne hasło", "new_password_again": "Zupełnie inne hasło"}
    )

    assert response["Location"] == REGISTER_URL
    user = User.objects.get(customer=stranger.customer)
    assert user.check_password(NEW_PASSWORD)
    assert second_portal.signed_in_user_id is None


def test_registration_stores_the_password_with_argon2id(portal, stranger, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]

    portal.register(stranger.identifier)

    stored = User.objects.get(customer=stranger.customer).password
    assert stored.startswith("argon2$argon2id$")
    assert check_password(NEW_PASSWORD, stored)


# --- Registering again: the forgotten password ---------------------------------------------


def test_registering_again_sets_a_new_password_and_ends_every_other_session(portal, second_portal, cardholder):
    second_portal.sign_in(cardholder.identifier, cardholder.password)
    assert second_portal.client.get(CARD_LIST).status_code == 200
    sign_ins_before = AuditEvent.objects.filter(action="users.login.succeeded").count()

    response = portal.register(cardholder.identifier)

    user = User.objects.get(pk=cardholder.user.pk)
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(cardholder.password)
    # The old session is signed out at its next request.
    old_session = second_portal.client.get(CARD_LIST)
    assert old_session.status_code == 302
    assert old_session["Location"].startswith(reverse("users:login"))
    completed = AuditEvent.objects.get(action="users.registration.completed")
    assert completed.after == {"new_user": False, "access_blocked": False, "locked": False}
    assert AuditEvent.objects.get(action="users.registration.started").after["registered_before"] is True
    # The reset proved the phone on file only: it signs nobody in [ASVS 5.0 6.4.3] ...
    assert response["Location"] == reverse("users:login")
    assert portal.signed_in_user_id is None
    assert AuditEvent.objects.filter(action="users.login.succeeded").count() == sign_ins_before
    assert "Zaloguj się nim i kodem" in portal.get(reverse("users:login")).content.decode()
    # ... signing in takes the new password and a code, as always.
    portal.sign_in(cardholder.identifier, NEW_PASSWORD)
    assert portal.signed_in_user_id == user.pk


def test_a_reset_is_announced_to_the_portal_phone_even_when_it_is_the_phone_on_file(portal, cardholder):
    """The holder of the portal phone hears of every new password [ASVS 5.0 6.3.7]."""
    user = User.objects.get(pk=cardholder.user.pk)
    assert user.portal_phone == cardholder.customer.phone_on_file

    portal.register(cardholder.identifier)

    notice = last_sms(cardholder.customer.phone_on_file)
    assert "ponowna rejestracje" in notice


WARSAW = ZoneInfo("Europe/Warsaw")


def _three_wrong(portal, person) -> None:
    for _ in range(3):
        assert GENERIC_ERROR in portal.password_step(person.identifier, "to-nie-jest-moje-haslo").content.decode()


def _register_while_locked(portal, person) -> User:
    """Lock the account with three wrong passwords, then register again: the new password is set, the lock stays."""
    _three_wrong(portal, person)
    locked_until = User.objects.get(pk=person.user.pk).locked_until

    response = portal.register(person.identifier)

    assert response["Location"] == reverse("users:login")
    assert portal.signed_in_user_id is None
    user = User.objects.get(pk=person.user.pk)
    assert user.check_password(NEW_PASSWORD)
    assert user.locked_until == locked_until and user.failed_login_count == 3
    # The activation password proved the phone on file: its holder is told that the lock stays.
    page = portal.get(reverse("users:login")).content.decode()
    assert "Nowe hasło zostało ustawione." in page and LOCK_MESSAGE in page
    assert AuditEvent.objects.get(action="users.registration.completed").after["locked"] is True
    return user


def _login_page_answer(response) -> str:
    """The sign-in page's answer without the parts that differ per request (the CSRF token)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_registering_again_keeps_the_lock_until_midnight(portal, cardholder):
    with time_machine.travel(dt.datetime(2026, 11, 21, 14, 5, tzinfo=WARSAW), tick=False):
        _register_while_locked(portal, cardholder)
        # The new password gets the generic answer, as any password would: no oracle.
        right = portal.password_step(cardholder.identifier, NEW_PASSWORD)
        wrong = portal.password_step(cardholder.identifier, "to-tez-nie-jest-moje-haslo")
        assert right.status_code == wrong.status_code == 200 and "Location" not in right
        assert GENERIC_ERROR in _login_page_answer(right)
        assert _login_page_answer(right) == _login_page_answer(wrong)
    with time_machine.travel(dt.datetime(2026, 11, 21, 23, 59, 59, tzinfo=WARSAW), tick=False):
        assert GENERIC_ERROR in portal.password_step(cardholder.identifier, NEW_PASSWORD).content.decode()
    with time_machine.travel(dt.datetime(2026, 11, 22, 0, 0, tzinfo=WARSAW), tick=False):
        portal.sign_in(cardholder.identifier, NEW_PASSWORD)
        assert portal.signed_in_user_id == cardholder.user.pk


def test_registering_again_keeps_the_lock_until_staff_unlock_it(portal, cardholder):
    user = _register_while_locked(portal, cardholder)
    assert GENERIC_ERROR in portal.password_step(cardholder.identifier, NEW_PASSWORD).content.decode()
    agent = User.objects.create_user(username="agent.kowalska", password="Staff-password-123", kind=UserKind.STAFF)

    user_unlock(actor=Actor.for_user(agent), user=user, reason="Caller verified by security questions")

    portal.sign_in(cardholder.identifier, NEW_PASSWORD)
    assert portal.signed_in_user_id == cardholder.user.pk


def test_registering_again_clears_the_count_of_failures_and_an_ended_lock(portal, cardholder):
    for _ in range(2):
        portal.password_step(cardholder.identifier, "to-nie-jest-moje-haslo")
    User.objects.filter(pk=cardholder.user.pk).update(locked_until=timezone.now() - dt.timedelta(minutes=1))

    portal.register(cardholder.identifier)

    user = User.objects.get(pk=cardholder.user.pk)
    assert user.failed_login_count == 0
    assert user.locked_until is None
    portal.sign_in(cardholder.identifier, NEW_PASSWORD)
    assert portal.signed_in_user_id == user.pk


def test_registering_again_keeps_a_block_of_access_and_says_so(portal, cardholder):
    user_access_block(actor=Actor.for_user(cardholder.user), user=cardholder.user, by="customer")

    response = portal.register(cardholder.identifier)

    assert response["Location"] == reverse("users:login")
    assert portal.signed_in_user_id is None
    user = User.objects.get(pk=cardholder.user.pk)
    assert user.is_access_blocked
    assert user.check_password(NEW_PASSWORD)
    page = portal.get(reverse("users:login")).content.decode()
    assert "Nowe hasło zostało ustawione, ale Twój dostęp do portalu jest zablokowany." in page
    assert AuditEvent.objects.get(action="users.registration.completed").after["access_blocked"] is True


def test_registering_again_keeps_the_portal_phone_and_tells_it(portal, cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(portal_phone="+48501999888")

    portal.register(cardholder.identifier)

    user = User.objects.get(pk=cardholder.user.pk)
    assert user.portal_phone == "+48501999888"
    notice = last_sms("+48501999888")
    assert "ponowna rejestracje" in notice


def test_registering_again_with_the_current_password_is_refused(portal, cardholder):
    _to_password(portal, cardholder.identifier)

    response = _set_password(portal, cardholder.password)

    assert "Nowe hasło musi się różnić od obecnego." in response.content.decode()


def test_the_registration_pages_refuse_other_methods(client, db):
    for url in (REGISTER_URL, REGISTER_SEND_URL, REGISTER_ACTIVATE_URL, REGISTER_PASSWORD_URL):
        assert client.put(url).status_code == 405
        assert client.delete(url).status_code == 405


def test_the_registration_pages_are_never_cached(client, db):
    assert "no-cache" in client.get(REGISTER_URL)["Cache-Control"]


def test_a_session_without_the_identifier_restarts_the_registration(portal, stranger):
    portal.post(REGISTER_URL, {"identifier": stranger.identifier})
    session = portal.client.session
    session[REGISTRATION] = {"customer_id": stranger.customer.pk}
    session.save()

    for url in (REGISTER_SEND_URL, REGISTER_ACTIVATE_URL, REGISTER_PASSWORD_URL):
        assert portal.get(url)["Location"] == REGISTER_URL
    assert not locmem.outbox


def test_a_customer_gone_between_the_steps_gets_the_decoy_and_the_trail_says_not_found(portal, stranger):
    portal.post(REGISTER_URL, {"identifier": stranger.identifier})
    session = portal.client.session
    session[REGISTRATION] = {**session[REGISTRATION], "customer_id": 987654}
    session.save()

    assert portal.post(REGISTER_SEND_URL)["Location"] == REGISTER_ACTIVATE_URL

    assert not locmem.outbox
    assert not SmsChallenge.objects.exists()
    assert AuditEvent.objects.get(action="users.registration.refused").after == {"reason": "not_found"}
    assert Customer.objects.filter(pk=stranger.customer.pk).exists()


def test_a_customer_whose_phone_is_removed_before_the_send_gets_the_decoy(portal, stranger):
    portal.post(REGISTER_URL, {"identifier": stranger.identifier})
    Customer.objects.filter(pk=stranger.customer.pk).update(phone_on_file=None)

    assert portal.post(REGISTER_SEND_URL)["Location"] == REGISTER_ACTIVATE_URL

    assert not locmem.outbox
    event = AuditEvent.objects.get(action="users.registration.refused")
    assert (event.after, event.customer_id) == ({"reason": "no_phone"}, stranger.customer.pk)


def _lock_message_after_registering(portal, person) -> str:
    """What the sign-in page says after registering while locked (the activation password proved the phone)."""
    _three_wrong(portal, person)
    portal.register(person.identifier)
    page = portal.get(reverse("users:login")).content.decode()
    message = page[page.index("Nowe hasło zostało ustawione.") :]
    return message[: message.index("</")]


def test_the_lock_message_after_registering_gives_the_helpline_of_the_persons_one_bank(portal, cardholder):
    from kartosfera.banks.services import bank_update

    bank_update(actor=Actor.system("tests"), bank=factories.bank_factory(), helpline_phone="+48 86 216 00 00")

    assert "zadzwoń na infolinię +48 86 216 00 00" in _lock_message_after_registering(portal, cardholder)


def test_the_lock_message_of_a_customer_of_two_banks_gives_the_groups_helpline(portal, cardholder, settings):
    from kartosfera.banks.services import bank_update

    bank_update(actor=Actor.system("tests"), bank=factories.bank_factory(), helpline_phone="+48 86 216 00 00")
    customer = cardholder.customer
    factories.customer_factory(
        bank=factories.bank_factory("BS-DRUGI"), pesel=customer.pesel, first_name="Anna", last_name="Nowak"
    )

    message = _lock_message_after_registering(portal, cardholder)
    assert f"zadzwoń na infolinię {settings.HELPLINE_PHONE}" in message
    assert "+48 86 216 00 00" not in message
