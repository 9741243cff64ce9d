"""Reversals: full and partial, idempotent by reversal id, releasing the hold and restoring the day's limits."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.processing.adjustments import AdjustmentIdConflict, authorization_reverse
from kartosfera.processing.models import Authorization, AuthorizationStatus, DailySpend
from kartosfera.processing.tests.helpers import PROCESSOR, active_card, decide

pytestmark = pytest.mark.django_db


def _spent(tc) -> int:
    return DailySpend.objects.get(card=tc.card, group="noncash").amount_minor


def test_a_full_reversal_releases_the_hold_and_restores_the_limit():
    tc = active_card()
    authorization = decide(tc, amount_minor=tc.card.noncash_limit_minor).authorization
    assert not decide(tc, amount_minor=1).authorization.approved
    decision = authorization_reverse(actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="rev-1")
    assert decision.adjustment.amount_minor == tc.card.noncash_limit_minor
    authorization.refresh_from_db()
    assert (authorization.status, authorization.held_minor) == (AuthorizationStatus.REVERSED, 0)
    assert tc.account.held_minor == 0 and _spent(tc) == 0
    assert decide(tc, amount_minor=1).authorization.approved
    assert AuditEvent.objects.filter(action="processing.authorization.reversed").count() == 1


def test_a_partial_reversal_keeps_the_rest_held():
    tc = active_card()
    authorization = decide(tc, amount_minor=10_000).authorization
    authorization_reverse(
        actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="rev-p", amount_minor=3_000
    )
    authorization.refresh_from_db()
    assert (authorization.status, authorization.held_minor) == (AuthorizationStatus.PENDING, 7_000)
    assert tc.account.held_minor == 7_000 and _spent(tc) == 7_000
    # More than is left releases what is left.
    last = authorization_reverse(
        actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="rev-q", amount_minor=9_000
    )
    assert last.adjustment.amount_minor == 7_000
    authorization.refresh_from_db()
    assert authorization.status == AuthorizationStatus.REVERSED
    assert tc.account.held_minor == 0 and _spent(tc) == 0


def test_a_converted_authorization_releases_its_share_of_the_billing_amount():
    tc = active_card()
    authorization = decide(tc, amount_minor=1_000, currency="EUR", billing_amount_minor=4_300).authorization
    authorization_reverse(
        actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="rev-fx", amount_minor=500
    )
    assert tc.account.held_minor == 2_150


def test_a_reversal_is_idempotent_and_another_body_is_a_conflict():
    tc = active_card()
    authorization = decide(tc, amount_minor=10_000).authorization
    first = authorization_reverse(
        actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="rev-x", amount_minor=2_000
    )
    again = authorization_reverse(
        actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="rev-x", amount_minor=2_000
    )
    assert again.replayed and again.adjustment.pk == first.adjustment.pk
    assert tc.account.held_minor == 8_000
    with pytest.raises(AdjustmentIdConflict):
        authorization_reverse(
            actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="rev-x", amount_minor=2_001
        )
    assert tc.account.held_minor == 8_000


def test_a_reversal_of_a_decline_is_acknowledged_and_releases_nothing():
    tc = active_card(balance_minor=100)
    authorization = decide(tc, amount_minor=10_000).authorization
    decision = authorization_reverse(actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="r-d")
    assert decision.adjustment.amount_minor == 0
    assert Authorization.objects.get(pk=authorization.pk).status == AuthorizationStatus.DECLINED
    assert tc.account.held_minor == 0


def test_the_reversal_endpoint():
    tc = active_card()
    authorization = decide(tc, amount_minor=10_000).authorization
    _key, token = api_key_create(actor=Actor.system("tests"), name="processor", scopes=[ApiScope.PROCESSOR])
    client = Client(headers={"Authorization": f"Bearer {token}"})
    url = f"/api/processor/v1/authorizations/{authorization.processor_id}/reversals"
    response = client.post(url, json.dumps({"id": "rev-api", "amount_minor": 4_000}), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": "rev-api",
        "authorization_id": authorization.processor_id,
        "kind": "reversal",
        "approved": True,
        "response_code": "00",
        "amount_minor": 4_000,
        "currency": "PLN",
        "decline_reason": None,
        "decline_message": None,
        "merchant_advice_code": None,
    }
    again = client.post(url, json.dumps({"id": "rev-api", "amount_minor": 4_000}), content_type="application/json")
    assert again.json() == response.json()
    conflict = client.post(url, json.dumps({"id": "rev-api"}), content_type="application/json")
    assert conflict.status_code == 409
    unknown = client.post(
        "/api/processor/v1/authorizations/nope/reversals", json.dumps({"id": "r"}), content_type="application/json"
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    bad = client.post(url, json.dumps({"id": "r2", "amount_minor": -1}), content_type="application/json")
    assert bad.status_code == 422
    assert tc.account.held_minor == 6_000
