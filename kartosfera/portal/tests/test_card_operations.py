"""The card operation pages: the actions each state allows, step-up where needed, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_activate, card_block_temporarily, card_cancel
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to, texts_to
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db(transaction=True)

SYSTEM = Actor.system("tests")
# The cardholder's own actions (a block by SYSTEM would be the bank's, which the holder cannot lift).
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")
PHONE = "+48601000111"
OPERATION_URLS = ["activate", "block", "unblock", "cancel", "contactless", "limits"]


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


def _detail(card: Card) -> str:
    return reverse("portal:card_detail", kwargs={"card_id": card.pk})


def _page(client: Client, card: Card) -> str:
    return client.get(_detail(card)).content.decode()


def _confirm(client: Client, response) -> str:
    """Type the SMS code on the confirmation page the response leads to; the page landed on."""
    done = client.post(response["Location"], {"code": code_sent_to(PHONE)}, follow=True)
    return done.content.decode()


# --- the card page shows what the table allows ---------------------------------------------


def test_an_inactive_card_offers_activation_and_cancellation_only(anna, card):
    page = _page(anna, card)
    assert _url(card, "activate") in page and _url(card, "cancel") in page
    for name in ("block", "unblock", "contactless", "limits"):
        assert _url(card, name) not in page


def test_an_active_card_offers_block_cancel_limits_and_contactless_off(anna, active):
    page = _page(anna, active)
    for name in ("block", "cancel", "limits", "contactless"):
        assert _url(active, name) in page
    assert "Wyłącz płatności zbliżeniowe" in page
    assert _url(active, "activate") not in page and _url(active, "unblock") not in page


def test_a_blocked_card_offers_unblock_and_shows_when_the_block_becomes_a_cancellation(anna, active):
    card_block_temporarily(actor=HOLDER, card=active, note="w samochodzie")
    page = _page(anna, active)

    assert _url(active, "unblock") in page and _url(active, "limits") not in page
    assert _url(active, "block") not in page
    active.refresh_from_db()
    ends = timezone.localtime(active.block_expires_at())
    assert f'datetime="{ends.isoformat()}"' in page
    assert "w samochodzie" in page


def test_a_cancelled_card_offers_nothing(anna, active):
    card_cancel(actor=SYSTEM, card=active, reason=StatusReason.LOST)
    page = _page(anna, active)
    for name in OPERATION_URLS:
        assert _url(active, name) not in page


def test_a_card_without_contactless_says_why_it_cannot_switch(anna, cardholder):
    product = factories.product_factory(contactless_capable=False)
    card = card_activate(actor=SYSTEM, card=factories.card_factory(customer=cardholder.customer, product=product))
    page = _page(anna, card)
    assert _url(card, "contactless") not in page
    assert "Ta karta nie obsługuje płatności zbliżeniowych." in page


def test_a_business_card_shows_its_limits_read_only(client, business_user, business_product):
    client.force_login(business_user.user)
    card = card_activate(
        actor=SYSTEM, card=factories.card_factory(customer=business_user.customer, product=business_product)
    )
    page = _page(client, card)
    assert _url(card, "limits") not in page
    response = client.get(_url(card, "limits"), follow=True)
    assert "Limity karty firmowej ustala Twoja firma z bankiem." in response.content.decode()


def test_the_history_shows_the_last_ten_events_with_translated_labels(anna, active):
    for _ in range(6):
        card_block_temporarily(actor=HOLDER, card=active)
        from kartosfera.cards.operations_services import card_unblock

        card_unblock(actor=SYSTEM, card=active)
    page = _page(anna, active)
    history = page.split('id="history-heading"')[1]
    assert history.count("<tr>") == 1 + 10
    assert "Odblokowano kartę" in history and "Zablokowano kartę czasowo" in history


# --- access, methods, CSRF ---------------------------------------------------------------


@pytest.mark.parametrize("name", OPERATION_URLS)
def test_somebody_elses_card_is_a_404(anna, second_cardholder, name):
    theirs = factories.card_factory(customer=second_cardholder.customer)
    assert anna.get(_url(theirs, name)).status_code in {404, 405}
    assert anna.post(_url(theirs, name), {"enabled": "off", "reason": "lost", "confirm": "on"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == CardStatus.INACTIVE


@pytest.mark.parametrize("name", OPERATION_URLS)
def test_anonymous_visitors_are_sent_to_sign_in(client, card, name):
    response = client.post(_url(card, name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("users:login"))


@pytest.mark.parametrize("name", ["activate", "unblock", "contactless"])
def test_post_only_actions_refuse_get(anna, active, name):
    assert anna.get(_url(active, name)).status_code == 405


@pytest.mark.parametrize("name", ["block", "cancel", "limits"])
def test_form_pages_refuse_put(anna, active, name):
    assert anna.put(_url(active, name)).status_code == 405


def test_the_actions_need_the_csrf_token(cardholder, active):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cardholder.user)
    assert client.post(_url(active, "block")).status_code == 403
    active.refresh_from_db()
    assert active.status == CardStatus.ACTIVE


# --- activate and unblock: step-up ---------------------------------------------------------


def test_activation_waits_for_the_sms_code_that_names_the_card(anna, card):
    response = anna.post(_url(card, "activate"))
    challenge_from(response)
    card.refresh_from_db()
    assert card.status == CardStatus.INACTIVE
    assert f"aktywacja karty *{card.pan_last4}" in texts_to(PHONE)[-1]

    page = _confirm(anna, response)

    card.refresh_from_db()
    assert card.status == CardStatus.ACTIVE
    assert "Karta jest aktywna." in page


def test_an_expired_activation_code_activates_nothing(anna, card):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        response = anna.post(_url(card, "activate"))
        code = code_sent_to(PHONE)
    # Still active meanwhile (the session's idle limit is also 5 minutes).
    with time_machine.travel(start + dt.timedelta(minutes=3), tick=False):
        anna.get(response["Location"])
    with time_machine.travel(start + dt.timedelta(minutes=5, seconds=1), tick=False):
        page = anna.post(response["Location"], {"code": code}, follow=True).content.decode()
    card.refresh_from_db()
    assert card.status == CardStatus.INACTIVE
    assert "Kod wygasł" in page


def test_a_wrong_activation_code_activates_nothing(anna, card):
    response = anna.post(_url(card, "activate"))
    wrong = f"{(int(code_sent_to(PHONE)) + 1) % 10**6:06d}"
    anna.post(response["Location"], {"code": wrong}, follow=True)
    card.refresh_from_db()
    assert card.status == CardStatus.INACTIVE
    assert not AuditEvent.objects.filter(action="cards.card.active").exists()


def test_activating_an_active_card_sends_no_code(anna, active):
    response = anna.post(_url(active, "activate"), follow=True)
    assert "Karta jest już aktywowana." in response.content.decode()
    assert locmem.outbox == []


def test_unblocking_waits_for_the_sms_code(anna, active):
    card_block_temporarily(actor=HOLDER, card=active)
    response = anna.post(_url(active, "unblock"))
    assert f"odblokowanie karty *{active.pan_last4}" in texts_to(PHONE)[-1]
    active.refresh_from_db()
    assert active.status == CardStatus.BLOCKED

    _confirm(anna, response)

    active.refresh_from_db()
    assert (active.status, active.status_reason) == (CardStatus.ACTIVE, StatusReason.UNBLOCKED)


# --- block, cancel, contactless: no code -------------------------------------------------


def test_blocking_is_immediate_with_no_code_and_keeps_the_note(anna, active):
    page = anna.post(_url(active, "block"), {"note": "zgubiona w parku"}, follow=True).content.decode()

    active.refresh_from_db()
    assert (active.status, active.block_note) == (CardStatus.BLOCKED, "zgubiona w parku")
    assert locmem.outbox == []
    assert "Karta jest tymczasowo zablokowana." in page
    event = AuditEvent.objects.get(action="cards.card.blocked", object_id=str(active.pk))
    assert event.actor_type == "customer"


def test_a_too_long_block_note_is_refused_and_nothing_is_written(anna, active):
    response = anna.post(_url(active, "block"), {"note": "x" * 201})
    assert response.status_code == 200
    active.refresh_from_db()
    assert active.status == CardStatus.ACTIVE


def test_cancelling_needs_the_confirmation_box(anna, active):
    response = anna.post(_url(active, "cancel"), {"reason": "stolen"})
    assert response.status_code == 200
    assert "Zaznacz pole" in response.content.decode()
    active.refresh_from_db()
    assert active.status == CardStatus.ACTIVE

    anna.post(_url(active, "cancel"), {"reason": "stolen", "confirm": "on"})

    active.refresh_from_db()
    assert (active.status, active.status_reason) == (CardStatus.CANCELLED, StatusReason.STOLEN)
    assert locmem.outbox == []


@pytest.mark.parametrize("reason", ["", "block_expired", "renewed", "nonsense"])
def test_cancelling_with_a_reason_not_on_the_list_is_refused(anna, active, reason):
    response = anna.post(_url(active, "cancel"), {"reason": reason, "confirm": "on"})
    assert response.status_code == 200
    active.refresh_from_db()
    assert active.status == CardStatus.ACTIVE


def test_contactless_off_and_on_need_no_code(anna, active):
    anna.post(_url(active, "contactless"), {"enabled": "off"})
    active.refresh_from_db()
    assert active.contactless_enabled is False
    anna.post(_url(active, "contactless"), {"enabled": "on"})
    active.refresh_from_db()
    assert active.contactless_enabled is True
    assert locmem.outbox == []


@pytest.mark.parametrize("value", ["", "maybe"])
def test_a_bad_contactless_value_changes_nothing(anna, active, value):
    response = anna.post(_url(active, "contactless"), {"enabled": value})
    assert response.status_code == 302
    active.refresh_from_db()
    assert active.contactless_enabled is True


def test_contactless_on_a_card_without_it_is_refused_with_the_reason(anna, cardholder):
    product = factories.product_factory(contactless_capable=False)
    card = card_activate(actor=SYSTEM, card=factories.card_factory(customer=cardholder.customer, product=product))
    page = anna.post(_url(card, "contactless"), {"enabled": "on"}, follow=True).content.decode()
    assert "Ta karta nie obsługuje płatności zbliżeniowych." in page
    assert AuditEvent.objects.filter(action="cards.card.operation_refused", object_id=str(card.pk)).count() == 1


# --- limits -------------------------------------------------------------------------------


def _limits(client, card, cash="2 000,00", noncash="5 000,00", internet="0"):
    return client.post(_url(card, "limits"), {"cash": cash, "noncash": noncash, "internet": internet})


def test_the_limits_form_shows_the_current_values_in_polish(anna, active):
    page = anna.get(_url(active, "limits")).content.decode()
    assert 'value="2\xa0000,00"' in page or 'value="2 000,00"' in page


def test_lowering_a_limit_applies_at_once_without_a_code(anna, active):
    response = _limits(anna, active, cash="1 500,50")
    assert response.status_code == 302
    active.refresh_from_db()
    assert active.cash_limit_minor == 150_050
    assert locmem.outbox == []


def test_raising_a_limit_waits_for_the_code_whose_text_names_the_change(anna, active):
    response = _limits(anna, active, internet="2000.00")
    challenge_from(response)
    assert f"zmiana limitu internetowego karty *{active.pan_last4} na 2 000,00 PLN" in texts_to(PHONE)[-1]
    active.refresh_from_db()
    assert active.internet_limit_minor == 0

    _confirm(anna, response)

    active.refresh_from_db()
    assert active.internet_limit_minor == 200_000
    assert AuditEvent.objects.filter(action="cards.card.limits_changed", object_id=str(active.pk)).count() == 1


@pytest.mark.parametrize(
    ("values", "field_message"),
    [
        ({"cash": "abc"}, "Podaj kwotę, np. 2 000"),
        ({"cash": "-5"}, "Podaj kwotę, np. 2 000"),
        ({"cash": "1,234"}, "Podaj kwotę, np. 2 000"),
        ({"cash": "20 000"}, "nie może przekroczyć"),
        ({"internet": "6 000"}, "limitu bezgotówkowego"),
        ({"noncash": ""}, "To pole jest wymagane"),
    ],
)
def test_bad_limits_are_explained_and_nothing_is_written(anna, active, values, field_message):
    response = _limits(anna, active, **values)
    assert response.status_code == 200
    assert field_message in response.content.decode()
    active.refresh_from_db()
    assert (active.cash_limit_minor, active.noncash_limit_minor, active.internet_limit_minor) == (
        200_000,
        500_000,
        0,
    )
    assert locmem.outbox == []


def test_a_blocked_card_cannot_open_the_limits_form(anna, active):
    card_block_temporarily(actor=HOLDER, card=active)
    page = anna.get(_url(active, "limits"), follow=True).content.decode()
    assert "najpierw ją odblokuj" in page


def test_an_expired_card_allows_nothing(anna, cardholder, debit_product):
    today = timezone.localdate()
    card = factories.card_factory(
        customer=cardholder.customer,
        product=debit_product,
        issued_on=today - dt.timedelta(days=800),
        expiry=today - dt.timedelta(days=40),
    )
    page = _page(anna, card)
    for name in OPERATION_URLS:
        assert _url(card, name) not in page
    assert anna.post(_url(card, "activate"), follow=True).status_code == 200
    assert locmem.outbox == []
