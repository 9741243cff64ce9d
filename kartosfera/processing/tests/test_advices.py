"""Advices: recorded and acknowledged past limits and funds, flagged for review, never re-decided, idempotent."""

from __future__ import annotations

import dataclasses
import json

import pytest
from django.test import Client

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.cards.operations_services import card_block_temporarily
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.processing.advices import advice_record
from kartosfera.processing.models import Authorization, AuthorizationStatus, DailySpend
from kartosfera.processing.services import AuthorizationIdConflict
from kartosfera.processing.tests.helpers import PROCESSOR, active_card, request_for

pytestmark = pytest.mark.django_db
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")


def test_an_approved_advice_holds_past_the_limit_and_the_funds_and_needs_review():
    tc = active_card(balance_minor=10_000)
    card_block_temporarily(actor=HOLDER, card=tc.card)  # not re-decided: the block does not matter
    amount = tc.card.noncash_limit_minor + 1_000
    decision = advice_record(
        actor=PROCESSOR, request=request_for(tc, amount_minor=amount), approved=True, response_code="00"
    )
    authorization = decision.authorization
    assert (authorization.is_advice, authorization.needs_review, authorization.approved) == (True, True, True)
    assert (authorization.status, authorization.held_minor, authorization.decided_by) == (
        AuthorizationStatus.PENDING,
        amount,
        "advice",
    )
    account = tc.account
    assert account.held_minor == amount and account.available_minor == 10_000 - amount < 0
    assert DailySpend.objects.get(card=tc.card, group="noncash").amount_minor == amount
    assert AuditEvent.objects.filter(action="processing.advice.recorded").count() == 1


def test_a_declined_advice_holds_nothing():
    tc = active_card()
    decision = advice_record(actor=PROCESSOR, request=request_for(tc), approved=False, response_code="51")
    assert (decision.authorization.status, decision.authorization.held_minor) == (AuthorizationStatus.DECLINED, 0)
    assert decision.authorization.response_code == "51" and tc.account.held_minor == 0


def test_an_advice_for_an_unknown_card_is_recorded_for_review():
    tc = active_card()
    decision = advice_record(
        actor=PROCESSOR, request=request_for(tc, pan="4000009999999995"), approved=True, response_code="00"
    )
    assert decision.authorization.card_id is None and decision.authorization.needs_review
    assert decision.authorization.held_minor == 0


def test_an_advice_is_idempotent_and_another_decision_is_a_conflict():
    tc = active_card()
    request = request_for(tc, amount_minor=5_000)
    first = advice_record(
        actor=PROCESSOR, request=request, approved=True, response_code="00", authorization_code="A1B2C3"
    )
    again = advice_record(
        actor=PROCESSOR, request=request, approved=True, response_code="00", authorization_code="A1B2C3"
    )
    assert again.replayed and again.authorization.pk == first.authorization.pk
    with pytest.raises(AuthorizationIdConflict):
        advice_record(actor=PROCESSOR, request=request, approved=False, response_code="05")
    with pytest.raises(AuthorizationIdConflict):
        advice_record(
            actor=PROCESSOR, request=dataclasses.replace(request, amount_minor=5_001), approved=True, response_code="00"
        )
    assert tc.account.held_minor == 5_000 and Authorization.objects.count() == 1


def test_the_advice_endpoint():
    tc = active_card()
    _key, token = api_key_create(actor=Actor.system("tests"), name="processor", scopes=[ApiScope.PROCESSOR])
    client = Client(headers={"Authorization": f"Bearer {token}"})
    body = {
        "id": "adv-1",
        "network_transaction_id": "NTX-ADV-1",
        "card": {"pan": tc.pan, "expiry": f"{tc.card.expiry:%Y-%m}"},
        "amount_minor": 2_000,
        "currency": "PLN",
        "merchant": {"name": "Orlen", "country": "PL", "mcc": "5542"},
        "channel": "pos_chip",
        "decision": {"approved": True, "response_code": "00", "authorization_code": "123456"},
    }
    response = client.post("/api/processor/v1/advices", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json() == {"id": "adv-1", "acknowledged": True, "needs_review": True}
    assert Authorization.objects.get(processor_id="adv-1").authorization_code == "123456"
    bad = client.post(
        "/api/processor/v1/advices",
        json.dumps({**body, "id": "adv-2", "decision": {"approved": "yes", "response_code": "0"}}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert tc.pan not in response.content.decode()
