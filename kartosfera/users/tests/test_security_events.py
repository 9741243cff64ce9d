"""After sign-in: the previous sign-in and the user's own recent security events."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kartosfera.core.audit import Actor, audit_record
from kartosfera.sca.models import ChallengePurpose
from kartosfera.sca.services import challenge_issue
from kartosfera.users.models import User, UserKind
from kartosfera.users.selectors import security_events_for_user
from kartosfera.users.session_keys import LOGIN_SUMMARY
from kartosfera.users.tests.helpers import SECURITY_URL

WARSAW = ZoneInfo("Europe/Warsaw")
CARD_LIST = reverse("portal:card_list")


def _record(action: str, person, **after) -> None:
    with transaction.atomic():
        audit_record(actor=Actor.system("tests"), action=action, customer_id=person.customer.pk, after=after)


# --- The selector ------------------------------------------------------------------------


def test_events_are_the_users_own_newest_first_with_labels(portal, cardholder, second_cardholder):
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, 0, tzinfo=WARSAW), tick=False):
        portal.password_step(cardholder.identifier, "to-nie-jest-moje-haslo")
    with time_machine.travel(dt.datetime(2026, 11, 21, 9, 0, tzinfo=WARSAW), tick=False):
        portal.sign_in(cardholder.identifier, cardholder.password)
    portal.password_step(second_cardholder.identifier, "to-nie-jest-moje-haslo")

    events = security_events_for_user(user=cardholder.user)

    assert [e.action for e in events] == [
        "users.login.succeeded",
        "sca.code.sent",
        "users.login.failed",
    ]
    assert [e.label for e in events] == [
        "Zalogowano do portalu",
        "Wysłano kod SMS do logowania",
        "Logowanie nie powiodło się",
    ]
    assert events[0].occurred_at == dt.datetime(2026, 11, 21, 9, 0, tzinfo=WARSAW)
    assert events[0].ip == "127.0.0.1"


def test_only_security_events_are_listed(cardholder):
    _record("cards.card.blocked", cardholder)
    _record("users.access.locked", cardholder, until="2026-11-22T00:00:00+01:00")
    _record("users.password.changed", cardholder)
    _record("users.phone.changed", cardholder)
    _record("users.own_login.changed", cardholder)

    labels = [e.label for e in security_events_for_user(user=cardholder.user)]

    assert labels == [
        "Ustawiono własny login",
        "Zmieniono numer telefonu do portalu",
        "Zmieniono hasło",
        "Zablokowano dostęp po błędnych hasłach",
    ]


def test_a_step_up_code_names_the_operation_it_confirms(cardholder):
    challenge_issue(
        actor=Actor.for_user(cardholder.user),
        purpose=ChallengePurpose.STEP_UP,
        customer=cardholder.customer,
        user=cardholder.user,
        phone=cardholder.customer.phone_on_file,
        operation="cards.limits.change",
        description="zmiana limitu internetowego karty *1234 na 2000 PLN",
    )

    (event,) = security_events_for_user(user=cardholder.user)

    assert event.label == "Wysłano kod SMS"
    assert event.detail == "zmiana limitu internetowego karty *1234 na 2000 PLN"


def test_3d_secure_events_are_in_the_holders_history(portal, cardholder):
    from kartosfera.secure3d import services as secure3d

    customer = cardholder.customer
    holder = Actor.for_user(cardholder.user)
    agent = User.objects.create_user(username="agent.kowalska", password="Staff-password-123", kind=UserKind.STAFF)
    secure3d.threeds_pin_set(actor=holder, customer=customer, **secure3d.threeds_pin_values("5830", customer=customer))
    secure3d.threeds_pin_set(actor=holder, customer=customer, **secure3d.threeds_pin_values("6135", customer=customer))
    now = dt.datetime.now(tz=WARSAW)
    for _ in range(3):
        secure3d.threeds_pin_check(customer=customer, pin="9173", now=now)
    secure3d.threeds_unlock(actor=Actor.for_user(agent), customer=customer, reason="Caller verified")
    secure3d.threeds_exemption_set(actor=holder, customer=customer, enabled=False)
    merchant = secure3d.trusted_merchant_add(
        actor=holder, customer=customer, name="Księgarnia Nova", merchant_id="MID-1", country="PL"
    )
    secure3d.trusted_merchant_remove(actor=holder, customer=customer, merchant=merchant)

    events = security_events_for_user(user=cardholder.user, limit=20)

    midnight = (now + dt.timedelta(days=1)).strftime("%d.%m.%Y 00:00")
    assert [(e.action, e.label, e.detail, e.actor) for e in events] == [
        ("secure3d.merchant.removed", "Usunięto zaufanego sprzedawcę", "Księgarnia Nova", "Ty"),
        ("secure3d.merchant.added", "Dodano zaufanego sprzedawcę", "Księgarnia Nova", "Ty"),
        ("secure3d.exemption.changed", "Wyłączono płatności niskokwotowe bez potwierdzania", "", "Ty"),
        ("secure3d.unlocked", "Odblokowano płatności internetowe", "", "Bank"),
        (
            "secure3d.locked",
            "Zablokowano płatności internetowe po błędnych PIN-ach lub kodach 3-D Secure",
            f"do {midnight}",
            "System",
        ),
        ("secure3d.failure", "Wpisano błędny PIN lub kod 3-D Secure", "", "System"),
        ("secure3d.failure", "Wpisano błędny PIN lub kod 3-D Secure", "", "System"),
        ("secure3d.pin.changed", "Zmieniono PIN 3-D Secure", "", "Ty"),
        ("secure3d.pin.set", "Ustawiono PIN 3-D Secure", "", "Ty"),
    ]
    page = portal.client
    page.force_login(cardholder.user)
    html = page.get(SECURITY_URL).content.decode()
    assert "Zmieniono PIN 3-D Secure" in html and "Zablokowano płatności internetowe" in html
    assert "5830" not in html and "6135" not in html


def test_the_limit_keeps_the_newest(cardholder):
    for _ in range(12):
        _record("users.login.failed", cardholder, reason="bad_credentials")
    _record("users.login.succeeded", cardholder)

    events = security_events_for_user(user=cardholder.user, limit=10)

    assert len(events) == 10
    assert events[0].action == "users.login.succeeded"


def test_the_selector_is_one_query(cardholder, django_assert_num_queries):
    for _ in range(5):
        _record("users.login.failed", cardholder, reason="bad_credentials")

    with django_assert_num_queries(1):
        security_events_for_user(user=cardholder.user)


def test_staff_have_no_customer_events(db):
    staff = User.objects.create_user(username="agent.kowalska", password="Staff-password-123", kind=UserKind.STAFF)

    assert security_events_for_user(user=staff) == []


# --- The page -----------------------------------------------------------------------------


def test_the_security_page_lists_the_events_in_polish_and_warsaw_time(portal, cardholder):
    with time_machine.travel(dt.datetime(2026, 7, 3, 8, 15, tzinfo=WARSAW), tick=False):
        portal.sign_in(cardholder.identifier, cardholder.password)
        html = portal.get(SECURITY_URL).content.decode()

    assert "<h1>Bezpieczeństwo</h1>" in html
    assert "Ostatnie zdarzenia bezpieczeństwa" in html
    assert "03.07.2026 08:15" in html
    assert "Zalogowano do portalu" in html
    assert "To Twoje pierwsze logowanie do portalu." in html


def test_the_security_page_needs_a_signed_in_cardholder(client, db):
    response = client.get(SECURITY_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))
    staff = User.objects.create_user(username="agent.kowalska", password="Staff-password-123", kind=UserKind.STAFF)
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(SECURITY_URL).status_code in {302, 403}


def test_the_security_page_refuses_post(client, cardholder):
    client.force_login(cardholder.user)

    assert client.post(SECURITY_URL).status_code == 405


def test_the_security_page_has_a_fixed_query_budget(client, cardholder, django_assert_max_num_queries):
    client.force_login(cardholder.user)
    client.get(SECURITY_URL)
    with CaptureQueriesContext(connection) as few:
        client.get(SECURITY_URL)
    for _ in range(15):
        _record("users.login.failed", cardholder, reason="bad_credentials")

    # session, user with customer, events (+ the session's save when a middleware touched it)
    with django_assert_max_num_queries(len(few)):
        response = client.get(SECURITY_URL)

    page = response.content.decode()
    assert page.count("Logowanie nie powiodło się") == 15
    assert page.count("błędne hasło") == 15
    assert len(few) <= 5


# --- The panel on the card list --------------------------------------------------------------


def test_the_first_sign_in_says_so(portal, cardholder):
    portal.sign_in(cardholder.identifier, cardholder.password)

    html = portal.get(CARD_LIST).content.decode()

    assert "To Twoje pierwsze logowanie do portalu." in html
    assert f'href="{SECURITY_URL}"' in html


def test_the_card_list_shows_the_previous_sign_in_and_failures_since(portal, cardholder):
    with time_machine.travel(dt.datetime(2026, 11, 20, 14, 5, tzinfo=WARSAW), tick=False):
        portal.sign_in(cardholder.identifier, cardholder.password)
        portal.client.post(reverse("users:logout"))
    with time_machine.travel(dt.datetime(2026, 11, 21, 9, 0, tzinfo=WARSAW), tick=False):
        portal.password_step(cardholder.identifier, "to-nie-jest-moje-haslo")
        portal.password_step(cardholder.identifier, "to-tez-nie-moje-haslo")
        portal.sign_in(cardholder.identifier, cardholder.password)
        html = portal.get(CARD_LIST).content.decode()

    assert "Poprzednie logowanie:" in html
    assert '<time datetime="2026-11-20T14:05:00+01:00">20 listopada 2026, 14:05</time>' in html
    assert "Od tamtej pory były 2 nieudane próby logowania." in html


def test_failures_before_a_first_sign_in_are_not_said_to_be_since_it(portal, cardholder):
    # Locked on the first day, unlocked by staff, then the very first successful sign-in.
    for wrong in ("to-nie-jest-moje-haslo", "to-tez-nie-moje-haslo"):
        portal.password_step(cardholder.identifier, wrong)
    portal.sign_in(cardholder.identifier, cardholder.password)

    html = portal.get(CARD_LIST).content.decode()

    assert "To Twoje pierwsze logowanie do portalu." in html
    assert "Od tamtej pory" not in html
    assert "Przed tym logowaniem były 2 nieudane próby logowania." in html


def test_the_panel_is_read_from_the_session_without_a_query(client, cardholder, card):
    client.force_login(cardholder.user)
    client.get(CARD_LIST)
    with CaptureQueriesContext(connection) as without_panel:
        client.get(CARD_LIST)
    session = client.session
    session[LOGIN_SUMMARY] = {"previous_login": "2026-11-20T13:05:00+00:00", "failures": 1}
    session.save()
    client.get(CARD_LIST)

    with CaptureQueriesContext(connection) as with_panel:
        html = client.get(CARD_LIST).content.decode()

    assert "Od tamtej pory była 1 nieudana próba logowania." in html
    assert len(with_panel) == len(without_panel)


@pytest.mark.parametrize("summary", [None, "garbage", {"previous_login": "not-a-date", "failures": "x"}])
def test_a_missing_or_odd_summary_never_breaks_the_card_list(client, cardholder, summary):
    client.force_login(cardholder.user)
    session = client.session
    session[LOGIN_SUMMARY] = summary
    session.save()

    assert client.get(CARD_LIST).status_code == 200
