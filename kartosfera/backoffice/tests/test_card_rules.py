"""Issue 9's card rules in the back office: staff blocks are the bank's, staff cancel reasons, the 60-day rule."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from kartosfera.backoffice.tests.helpers import action_post_data, card_action_url, phone_verify
from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_block_temporarily
from kartosfera.cards.states import CUSTOMER_CANCEL_REASONS, STAFF_CANCEL_REASONS, CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.testing.staff import staff_client

pytestmark = pytest.mark.django_db

HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")


@pytest.fixture
def agent(staff, cardholder):
    phone_verify(staff["agent"], cardholder.customer)
    return staff_client(staff["agent"])


def _customer_page(client, card: Card) -> str:
    return html.unescape(client.get(reverse("backoffice:customer", args=[card.customer_id])).content.decode())


def test_a_staff_block_is_the_banks_and_the_cardholder_cannot_lift_it_in_the_portal(
    agent, client, cardholder, active_card
):
    response = agent.post(card_action_url(active_card, "card_block"), action_post_data("card_block", active_card))

    assert response.status_code == 302
    card = Card.objects.get(pk=active_card.pk)
    assert (card.status, card.status_reason) == (CardStatus.BLOCKED, StatusReason.BLOCKED_BY_BANK)
    staff_row = AuditEvent.objects.get(action="backoffice.card_block")
    assert staff_row.after["status_reason"] == StatusReason.BLOCKED_BY_BANK
    assert staff_row.after["reason"] == "Customer asked on the phone"

    client.force_login(cardholder.user)
    client.post(reverse("portal:card_unblock", args=[card.pk]))
    assert Card.objects.get(pk=card.pk).status == CardStatus.BLOCKED


def test_staff_can_unblock_a_bank_block(agent, active_card):
    agent.post(card_action_url(active_card, "card_block"), action_post_data("card_block", active_card))
    assert card_action_url(active_card, "card_unblock") in _customer_page(agent, active_card)

    response = agent.post(card_action_url(active_card, "card_unblock"), action_post_data("card_unblock", active_card))

    assert response.status_code == 302
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.ACTIVE


def test_the_staff_cancel_form_offers_the_banks_reasons_not_the_cardholders(agent, active_card):
    page = _customer_page(agent, active_card)

    select = re.search(rf'<select name="card_cancel-{active_card.pk}-cancel_reason".*?</select>', page, re.S)
    assert select
    assert set(re.findall(r'<option value="([^"]+)"', select.group(0))) == set(STAFF_CANCEL_REASONS)


def test_staff_cancel_with_fraud_suspected(agent, active_card):
    data = action_post_data("card_cancel", active_card, cancel_reason=StatusReason.FRAUD_SUSPECTED, confirm="on")

    response = agent.post(card_action_url(active_card, "card_cancel"), data)

    assert response.status_code == 302
    card = Card.objects.get(pk=active_card.pk)
    assert (card.status, card.status_reason) == (CardStatus.CANCELLED, StatusReason.FRAUD_SUSPECTED)
    assert AuditEvent.objects.get(action="backoffice.card_cancel").after["cancel_reason"] == "fraud_suspected"


@pytest.mark.parametrize("reason", sorted(set(CUSTOMER_CANCEL_REASONS) - set(STAFF_CANCEL_REASONS)))
def test_staff_cannot_cancel_with_a_reason_only_the_cardholder_gives(agent, active_card, reason):
    data = action_post_data("card_cancel", active_card, cancel_reason=reason, confirm="on")

    response = agent.post(card_action_url(active_card, "card_cancel"), data)

    assert response.status_code == 400
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.ACTIVE


def test_a_block_older_than_60_days_shows_as_cancelled_and_staff_cannot_unblock_it(agent, active_card):
    with time_machine.travel(timezone.now() - dt.timedelta(days=61), tick=False):
        card_block_temporarily(actor=HOLDER, card=active_card)
    Card.objects.filter(pk=active_card.pk).update(wrong_pin_count=2)

    page = _customer_page(agent, active_card)

    assert "Zastrzeżona (Czasowa blokada niezdjęta w ciągu 60 dni)" in page
    assert card_action_url(active_card, "card_unblock") not in page
    assert card_action_url(active_card, "wrong_pin_reset") not in page

    response = agent.post(card_action_url(active_card, "card_unblock"), action_post_data("card_unblock", active_card))

    assert response.status_code == 400
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.BLOCKED  # the daily job writes it down
