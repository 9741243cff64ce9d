"""Incremental authorizations: more held when the card, the limits and the funds allow; idempotent."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.cards.models import Brand
from kartosfera.cards.operations_services import card_block_temporarily
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.processing.adjustments import (
    AdjustmentIdConflict,
    authorization_increment,
    authorization_reverse,
)
from kartosfera.processing.models import DailySpend
from kartosfera.processing.tests.helpers import PROCESSOR, active_card, decide

pytestmark = pytest.mark.django_db
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")


def _spent(tc) -> int:
    return DailySpend.objects.get(card=tc.card, group="noncash").amount_minor


def _increment(authorization, increment_id: str, amount: int, **kwargs):
    return authorization_increment(
        actor=PROCESSOR,
        authorization_id=authorization.processor_id,
        increment_id=increment_id,
        amount_minor=amount,
        **kwargs,
    ).adjustment


def test_an_increment_adds_to_the_hold_and_the_days_counter():
    tc = active_card()
    authorization = decide(tc, amount_minor=20_000, mcc="7011").authorization
    adjustment = _increment(authorization, "inc-1", 5_000)
    assert (adjustment.approved, adjustment.response_code, adjustment.amount_minor) == (True, "00", 5_000)
    authorization.refresh_from_db()
    assert authorization.held_minor == 25_000
    assert tc.account.held_minor == 25_000 and _spent(tc) == 25_000
    assert AuditEvent.objects.filter(action="processing.authorization.incremented").count() == 1
    # A full reversal then releases the whole of it.
    authorization_reverse(actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="rev")
    assert tc.account.held_minor == 0 and _spent(tc) == 0


@pytest.mark.parametrize("brand", [Brand.VISA, Brand.MASTERCARD])
def test_an_increment_past_the_funds_or_limit_is_declined(brand):
    tc = active_card(brand=brand, balance_minor=30_000)
    authorization = decide(tc, amount_minor=20_000).authorization
    declined = _increment(authorization, "inc-x", 10_001)
    assert (declined.approved, declined.response_code, declined.decline_reason) == (False, "51", "insufficient_funds")
    assert declined.amount_minor == 0 and tc.account.held_minor == 20_000
    assert _increment(authorization, "inc-y", 10_000).approved


def test_an_increment_on_a_blocked_card_is_declined():
    tc = active_card()
    authorization = decide(tc, amount_minor=20_000).authorization
    card_block_temporarily(actor=HOLDER, card=tc.card)
    declined = _increment(authorization, "inc-b", 1_000)
    assert (declined.approved, declined.decline_reason, declined.response_code) == (
        False,
        "card_blocked_by_holder",
        "9G",
    )


def test_an_increment_of_a_reversed_authorization_is_declined():
    tc = active_card()
    authorization = decide(tc, amount_minor=20_000).authorization
    authorization_reverse(actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="r")
    declined = _increment(authorization, "inc-r", 1_000)
    assert (declined.approved, declined.decline_reason, declined.response_code) == (False, "original_not_pending", "12")
    assert tc.account.held_minor == 0


def test_an_increment_is_idempotent_and_another_body_is_a_conflict():
    tc = active_card()
    authorization = decide(tc, amount_minor=20_000).authorization
    first = _increment(authorization, "inc-i", 1_000)
    assert _increment(authorization, "inc-i", 1_000).pk == first.pk
    with pytest.raises(AdjustmentIdConflict):
        _increment(authorization, "inc-i", 1_001)
    assert tc.account.held_minor == 21_000


def test_the_increment_endpoint():
    tc = active_card()
    authorization = decide(tc, amount_minor=20_000).authorization
    _key, token = api_key_create(actor=Actor.system("tests"), name="processor", scopes=[ApiScope.PROCESSOR])
    client = Client(headers={"Authorization": f"Bearer {token}"})
    url = f"/api/processor/v1/authorizations/{authorization.processor_id}/increments"
    response = client.post(url, json.dumps({"id": "inc-api", "amount_minor": 3_000}), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["kind"] == "increment" and response.json()["amount_minor"] == 3_000
    missing = client.post(url, json.dumps({"id": "inc-api2"}), content_type="application/json")
    assert missing.status_code == 422
    assert tc.account.held_minor == 23_000
