"""Change PIN and mobile payments in the portal: step-up, the trivial-PIN reasons, and no PIN anywhere."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_activate, card_block_temporarily, card_cancel
from kartosfera.cards.pin import pin_matches
from kartosfera.cards.states import StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.notifications import gsm7
from kartosfera.notifications.backends import locmem
from kartosfera.sca.models import SmsChallenge
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to, texts_to, wrong
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db(transaction=True)

SYSTEM = Actor.system("tests")
# The cardholder's own actions (a block by SYSTEM would be the bank's, which the holder cannot lift).
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")
PHONE = "+48601000111"
NEW_PIN = "5930"
URLS = ["pin", "mobile_payments"]


def pl(source: str) -> str:
    """The Polish text the page shows for an English source string (the source until it is translated)."""
    with translation.override("pl"):
        return translation.gettext(source)


@pytest.fixture
def anna(client, cardholder):
    cardholder.user.portal_phone = PHONE
    cardholder.user.save(update_fields=["portal_phone"])
    client.force_login(cardholder.user)
    return client


@pytest.fixture
def active(card) -> Card:
    return card_activate(actor=SYSTEM, card=card)


def _url(card: Card, name: str) -> str:
    return reverse(f"portal:card_{name}", kwargs={"card_id": card.pk})


def _page(client: Client, card: Card) -> str:
    return client.get(_url(card, "detail")).content.decode()


def _pin(client: Client, card: Card, pin: str = NEW_PIN, again: str | None = None):
    return client.post(_url(card, "pin"), {"pin": pin, "pin_again": pin if again is None else again})


def _confirm(client: Client, response, code: str | None = None) -> str:
    done = client.post(response["Location"], {"code": code or code_sent_to(PHONE)}, follow=True)
    return done.content.decode()


# Values whose digits are random or the clock's (timestamps, hex keys, UUIDs): a
# 4-digit PIN turns up in them by chance now and then, never as a leak.
_RANDOM_OR_CLOCK = re.compile(r"^(\d{4}-\d{2}-\d{2}[ T][0-9:.+]*|[0-9a-fA-F-]{32,})$")


def _everywhere_in_the_database(needle: str) -> list[str]:
    """Every text column of every table that holds ``needle`` (as kartosfera/cards/tests/test_pan.py does)."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                quoted_table = connection.ops.quote_name(table)
                quoted_column = connection.ops.quote_name(column.name)
                cursor.execute(f"SELECT {quoted_column} FROM {quoted_table}")  # noqa: S608 - introspected names
                for (value,) in cursor.fetchall():
                    if isinstance(value, int):
                        # A number column holds no PIN: its ids grow with every flushed test (a content
                        # type's id once read 5930, the test's PIN).
                        continue
                    text = str(value) if value is not None else ""
                    if needle in text and not _RANDOM_OR_CLOCK.match(text):
                        found.append(f"{table}.{column.name}")
    return found


# --- what the card page offers ------------------------------------------------------------------


def test_an_active_card_offers_the_pin_change_and_mobile_payments(anna, active):
    page = _page(anna, active)
    assert _url(active, "pin") in page and _url(active, "mobile_payments") in page
    assert pl("Not active") in page


@pytest.mark.parametrize("state", ["inactive", "blocked", "cancelled"])
def test_other_states_offer_neither(anna, card, state):
    if state != "inactive":
        card_activate(actor=SYSTEM, card=card)
    if state == "blocked":
        card_block_temporarily(actor=HOLDER, card=card)
    if state == "cancelled":
        card_cancel(actor=SYSTEM, card=card, reason=StatusReason.LOST)
    page = _page(anna, card)
    assert _url(card, "pin") not in page and _url(card, "mobile_payments") not in page


@pytest.mark.parametrize("name", URLS)
def test_a_blocked_card_refuses_with_the_reason_and_sends_no_code(anna, active, name):
    card_block_temporarily(actor=HOLDER, card=active)
    page = anna.post(_url(active, name), {"pin": NEW_PIN, "pin_again": NEW_PIN}, follow=True).content.decode()
    assert "najpierw ją odblokuj" in page
    assert locmem.outbox == []


# --- access, methods, CSRF ----------------------------------------------------------------------


@pytest.mark.parametrize("name", URLS)
def test_somebody_elses_card_is_a_404(anna, second_cardholder, name):
    theirs = card_activate(actor=SYSTEM, card=factories.card_factory(customer=second_cardholder.customer))
    assert anna.get(_url(theirs, name)).status_code in {404, 405}
    assert anna.post(_url(theirs, name), {"pin": NEW_PIN, "pin_again": NEW_PIN}).status_code == 404
    assert locmem.outbox == []


@pytest.mark.parametrize("name", URLS)
def test_anonymous_visitors_are_sent_to_sign_in(client, active, name):
    response = client.post(_url(active, name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("users:login"))


def test_wrong_methods_are_a_405(anna, active):
    assert anna.get(_url(active, "mobile_payments")).status_code == 405
    assert anna.put(_url(active, "pin")).status_code == 405
    assert anna.delete(_url(active, "pin")).status_code == 405


@pytest.mark.parametrize("name", URLS)
def test_the_actions_need_the_csrf_token(cardholder, active, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cardholder.user)
    assert client.post(_url(active, name), {"pin": NEW_PIN, "pin_again": NEW_PIN}).status_code == 403
    assert locmem.outbox == []


# --- change PIN -----------------------------------------------------------------------------------


def test_the_pin_form_asks_twice_with_hidden_numeric_fields(anna, active):
    page = anna.get(_url(active, "pin")).content.decode()
    assert page.count('type="password"') == 2
    assert page.count('inputmode="numeric"') == 2
    assert page.count('autocomplete="off"') >= 2


def test_a_pin_change_waits_for_the_code_that_names_the_card(anna, active, caplog):
    caplog.set_level(logging.DEBUG)
    response = _pin(anna, active)
    challenge = challenge_from(response)
    label = f"*{active.pan_last4}"
    with translation.override("pl"):
        expected = translation.gettext("change of the PIN of card %(card)s") % {"card": label}
    assert expected in texts_to(PHONE)[-1]
    assert set(challenge.payload) == {"pin_verification_values", "threeds_pin_verification_values"}
    active.refresh_from_db()
    assert active.pin_verification_value == ""

    page = _confirm(anna, response)

    active.refresh_from_db()
    assert pin_matches(NEW_PIN, card=active)
    assert active.pin_changed_at is not None
    assert pl("The PIN has been changed. Use the new PIN from now on.") in page
    assert AuditEvent.objects.filter(action="cards.card.pin_changed", object_id=str(active.pk)).count() == 1
    challenge.refresh_from_db()
    assert challenge.payload == {}  # both values wiped when the confirmation ended

    # The PIN itself is nowhere: not in any text column of any table, the session or the logs.
    assert _everywhere_in_the_database(NEW_PIN) == []
    for session in Session.objects.all():
        assert NEW_PIN not in str(session.get_decoded())
    assert NEW_PIN not in caplog.text
    assert all(NEW_PIN not in str(record.args) for record in caplog.records)


def test_a_wrong_code_changes_nothing_and_cancelling_wipes_the_value(anna, active):
    response = _pin(anna, active)
    challenge = challenge_from(response)
    _confirm(anna, response, code=wrong(code_sent_to(PHONE)))
    active.refresh_from_db()
    assert active.pin_verification_value == ""

    anna.post(reverse("sca:cancel", kwargs={"public_id": challenge.public_id}))

    active.refresh_from_db()
    assert active.pin_verification_value == ""
    challenge.refresh_from_db()
    assert challenge.payload == {}


def test_no_code_no_change(anna, active):
    response = _pin(anna, active)
    page = anna.post(response["Location"], {"code": ""}, follow=True)
    assert page.status_code == 200
    active.refresh_from_db()
    assert active.pin_verification_value == ""


@pytest.mark.parametrize(
    ("pin", "again", "message"),
    [
        ("1111", "1111", "The PIN cannot be one digit repeated, like 1111."),
        ("1234", "1234", "The PIN cannot be a run of consecutive digits, like 1234 or 4321."),
        ("9876", "9876", "The PIN cannot be a run of consecutive digits, like 1234 or 4321."),
        ("1985", "1985", "The PIN cannot be your year of birth."),
        ("1403", "1403", "The PIN cannot be your birthday (day and month)."),
        ("2580", "2580", "This PIN is one of the most common ones and easy to guess. Choose another one."),
        ("12a4", "12a4", "The PIN must have exactly 4 digits."),
        ("123", "123", "The PIN must have exactly 4 digits."),
        ("123456", "123456", "The PIN must have exactly 4 digits."),
        ("", "", "Enter the new PIN."),
        ("5930", "5931", "The two PINs are different. Type the same PIN twice."),
        ("5930", "", "Enter the new PIN again."),
    ],
)
def test_a_bad_pin_is_explained_and_the_form_comes_back_empty(anna, active, pin, again, message):
    response = _pin(anna, active, pin, again)
    assert response.status_code == 200
    page = response.content.decode()
    assert pl(message).replace("'", "&#x27;") in page
    assert 'name="pin" value' not in page and 'name="pin_again" value' not in page
    if len(pin) == 4:
        assert f'value="{pin}"' not in page and f'value="{again}"' not in page
    assert locmem.outbox == []
    assert SmsChallenge.objects.count() == 0


def test_the_last_digits_of_the_card_are_refused(anna, active):
    page = _pin(anna, active, active.pan_last4).content.decode()
    trivial = len(set(active.pan_last4)) == 1 or active.pan_last4 in {"1234", "4321"}
    if not trivial:
        assert pl("The PIN cannot be the last 4 digits of the card number.") in page
    assert locmem.outbox == []


def test_the_pin_view_hides_its_post_parameters_from_error_reports(anna, active):
    from kartosfera.portal.views import card_pin

    # sensitive_post_parameters marks the request; Django's error reporter then masks these fields.
    assert card_pin.__wrapped__ is not None  # type: ignore[attr-defined]
    response = _pin(anna, active)
    assert response.wsgi_request.sensitive_post_parameters == ("pin", "pin_again")  # type: ignore[attr-defined]


# --- mobile payments ------------------------------------------------------------------------------


def test_mobile_payments_wait_for_the_code_that_names_the_card(anna, active):
    response = anna.post(_url(active, "mobile_payments"))
    challenge_from(response)
    with translation.override("pl"):
        expected = translation.gettext("activation of mobile payments of card %(card)s") % {
            "card": f"*{active.pan_last4}"
        }
    # The page says it in Polish letters; the SMS in GSM-7 (docs/sms.md).
    assert gsm7.transliterate(expected) in texts_to(PHONE)[-1]
    active.refresh_from_db()
    assert active.mobile_payments_enabled is False

    page = _confirm(anna, response)

    active.refresh_from_db()
    assert active.mobile_payments_enabled is True
    assert pl("Mobile payments are active: you can add the card to a phone wallet or BS Pay.") in page
    assert pl("Active: the card can be added to a phone wallet or BS Pay") in page
    assert f'action="{_url(active, "mobile_payments")}"' not in page
    assert f'action="{_url(active, "mobile_payments_off")}"' in page  # now it can be switched off


def test_mobile_payments_already_active_send_no_code(anna, active):
    Card.objects.filter(pk=active.pk).update(mobile_payments_enabled=True)
    page = anna.post(_url(active, "mobile_payments"), follow=True).content.decode()
    assert pl("Mobile payments are already active for this card.") in page
    assert locmem.outbox == []


def test_a_wrong_code_leaves_mobile_payments_off(anna, active):
    response = anna.post(_url(active, "mobile_payments"))
    _confirm(anna, response, code=wrong(code_sent_to(PHONE)))
    active.refresh_from_db()
    assert active.mobile_payments_enabled is False
