"""The token service provider's API: provisioning decisions, the SMS code, lifecycle events, keys and scopes."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_block_temporarily, card_mobile_payments_deactivate
from kartosfera.cards.pan import decrypt_pan
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.testing.factories import bank_factory
from kartosfera.tokens.models import Token
from kartosfera.tokens.states import ProvisioningDecision, SuspendedBy, TokenStatus

BASE = "/api/token-service/v1"
ADMIN = Actor.system("tests")
pytestmark = pytest.mark.django_db


def _client(scopes: list[str]) -> Client:
    _, token = api_key_create(actor=ADMIN, name="Token service", scopes=scopes)
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def tsp() -> Client:
    return _client([ApiScope.TOKEN_SERVICE])


def _post(client: Client, path: str, body: dict) -> object:
    return client.post(BASE + path, json.dumps(body), content_type="application/json")


def _request(card: Card, *, reference: str = "DNITHE000000001", recommendation: str = "require_verification") -> dict:
    return {
        "card": {"pan": decrypt_pan(card.pan_ciphertext), "expiry": f"{card.expiry:%Y-%m}"},
        "token_reference": reference,
        "token_last4": "4321",
        "wallet": "google_pay",
        "device": {"name": "Pixel 8", "type": "phone"},
        "recommendation": recommendation,
    }


def _code() -> str:
    match = re.search(r"\b([0-9]{6})\b", locmem.outbox[-1].text)
    assert match, locmem.outbox[-1].text
    return match.group(1)


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """POST and run what waits for the commit (the SMS), as a request's own commit does outside the tests."""

    def post(client: Client, path: str, body: dict):
        with django_capture_on_commit_callbacks(execute=True):
            return _post(client, path, body)

    return post


def test_approve_when_the_provider_recommends_it(tsp, payable_card):
    response = _post(tsp, "/provisioning-requests", _request(payable_card, recommendation="approve"))

    assert response.status_code == 200
    assert response.json() == {
        "decision": "approve",
        "reason": None,
        "token_reference": "DNITHE000000001",
        "phone_masked": None,
        "code_expires_at": None,
    }
    token = Token.objects.get(token_reference="DNITHE000000001")
    assert (token.card_id, token.status, token.wallet, token.device_name) == (
        payable_card.pk,
        TokenStatus.REQUESTED,
        "google_pay",
        "Pixel 8",
    )


def test_the_answer_never_carries_the_card_number(tsp, payable_card, caplog):
    pan = decrypt_pan(payable_card.pan_ciphertext)
    with caplog.at_level("DEBUG"):
        response = _post(tsp, "/provisioning-requests", _request(payable_card))

    assert pan not in response.content.decode()
    assert pan not in caplog.text
    assert not any(pan in json.dumps([e.before, e.after]) for e in AuditEvent.objects.all())


def test_a_card_with_mobile_payments_off_is_declined_and_audited_on_the_card(tsp, payable_card):
    card_mobile_payments_deactivate(actor=ADMIN, card=payable_card)

    response = _post(tsp, "/provisioning-requests", _request(payable_card))

    assert (response.json()["decision"], response.json()["reason"]) == ("decline", "mobile_payments_off")
    assert not Token.objects.exists()
    declined = AuditEvent.objects.get(action="tokens.provisioning.declined")
    assert (declined.object_id, declined.customer_id) == (str(payable_card.pk), payable_card.customer_id)


def test_a_blocked_card_is_declined_with_the_cards_reason(tsp, payable_card):
    card_block_temporarily(actor=ADMIN, card=payable_card)

    response = _post(tsp, "/provisioning-requests", _request(payable_card))

    assert (response.json()["decision"], response.json()["reason"]) == ("decline", "card_blocked_by_bank")


def test_an_inactive_card_is_declined(tsp, card):
    response = _post(tsp, "/provisioning-requests", _request(card))

    assert (response.json()["decision"], response.json()["reason"]) == ("decline", "card_not_activated")


def test_an_unknown_card_or_the_wrong_expiry_is_declined(tsp, payable_card):
    body = _request(payable_card)
    body["card"]["expiry"] = "2045-01"

    response = _post(tsp, "/provisioning-requests", body)

    assert (response.json()["decision"], response.json()["reason"]) == ("decline", "card_unknown")


def test_require_verification_sends_an_sms_code_naming_the_card_and_wallet(tsp, payable_card, deliver):
    response = deliver(tsp, "/provisioning-requests", _request(payable_card))

    answer = response.json()
    assert answer["decision"] == "require_verification"
    assert answer["phone_masked"].endswith(payable_card.customer.phone_on_file[-3:])
    expires = dt.datetime.fromisoformat(answer["code_expires_at"])
    assert dt.timedelta(minutes=9) < expires - timezone.now() <= dt.timedelta(minutes=10)
    assert len(locmem.outbox) == 1
    assert f"*{payable_card.pan_last4}" in locmem.outbox[0].text and "Google Pay" in locmem.outbox[0].text
    token = Token.objects.get()
    assert token.provisioning_decision == ProvisioningDecision.VERIFICATION_REQUIRED


def test_a_retried_request_gets_the_same_answer_without_a_second_sms(tsp, payable_card, deliver):
    first = deliver(tsp, "/provisioning-requests", _request(payable_card)).json()

    again = deliver(tsp, "/provisioning-requests", _request(payable_card)).json()

    assert again == first
    assert len(locmem.outbox) == 1
    assert Token.objects.count() == 1


def test_the_right_code_verifies_and_the_activated_event_activates(tsp, payable_card, deliver):
    deliver(tsp, "/provisioning-requests", _request(payable_card))
    path = "/provisioning-requests/DNITHE000000001"

    verified = _post(tsp, f"{path}/verification", {"code": _code()})
    retried = _post(tsp, f"{path}/verification", {"code": "000000"})
    activated = _post(tsp, "/tokens/DNITHE000000001/events", {"event": "activated"})

    assert verified.json() == {"result": "verified", "attempts_left": 0}
    assert retried.json()["result"] == "verified"
    assert activated.status_code == 200
    assert activated.json() == {"token_reference": "DNITHE000000001", "status": "active", "suspended_by": None}
    assert AuditEvent.objects.filter(action="tokens.provisioning.verified").count() == 1


def test_activation_before_the_code_is_refused(tsp, payable_card, deliver):
    deliver(tsp, "/provisioning-requests", _request(payable_card))

    response = _post(tsp, "/tokens/DNITHE000000001/events", {"event": "activated"})

    assert response.status_code == 409
    assert Token.objects.get().status == TokenStatus.REQUESTED


def test_three_wrong_codes_end_the_request_and_delete_the_token(tsp, payable_card, deliver):
    deliver(tsp, "/provisioning-requests", _request(payable_card))
    right = _code()
    wrong = "111111" if right != "111111" else "222222"
    path = "/provisioning-requests/DNITHE000000001/verification"

    answers = [_post(tsp, path, {"code": wrong}).json() for _ in range(3)]
    after = _post(tsp, path, {"code": right}).json()

    assert answers[:2] == [
        {"result": "code_invalid", "attempts_left": 2},
        {"result": "code_invalid", "attempts_left": 1},
    ]
    assert answers[2]["result"] == "failed"
    assert after["result"] == "failed"
    token = Token.objects.get()
    assert (token.status, token.provisioning_decision) == (
        TokenStatus.DELETED,
        ProvisioningDecision.VERIFICATION_FAILED,
    )
    again = _post(tsp, "/provisioning-requests", _request(payable_card)).json()
    assert (again["decision"], again["reason"]) == ("decline", "verification_failed")


def test_an_expired_code_ends_the_request(tsp, payable_card, deliver):
    deliver(tsp, "/provisioning-requests", _request(payable_card))
    code = _code()

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10, seconds=1)):
        response = _post(tsp, "/provisioning-requests/DNITHE000000001/verification", {"code": code})

    assert response.json()["result"] == "failed"
    assert Token.objects.get().status == TokenStatus.DELETED


def test_lifecycle_events_from_the_wallet_update_the_token_and_are_idempotent(tsp, payable_card):
    _post(tsp, "/provisioning-requests", _request(payable_card, recommendation="approve"))
    events = "/tokens/DNITHE000000001/events"

    _post(tsp, events, {"event": "activated"})
    suspended = _post(tsp, events, {"event": "suspended"}).json()
    again = _post(tsp, events, {"event": "suspended"}).json()
    deleted = _post(tsp, events, {"event": "deleted"}).json()

    assert suspended == again == {"token_reference": "DNITHE000000001", "status": "suspended", "suspended_by": "wallet"}
    assert deleted["status"] == "deleted"
    assert AuditEvent.objects.filter(action="tokens.token.suspended").count() == 1


def test_an_unknown_token_reference_is_a_404(tsp):
    assert _post(tsp, "/tokens/NOPE/events", {"event": "deleted"}).status_code == 404
    assert _post(tsp, "/provisioning-requests/NOPE/verification", {"code": "123456"}).status_code == 404


def test_bad_input_is_a_422_not_a_500(tsp, payable_card):
    body = _request(payable_card)
    body["wallet"] = "samsung_pay"
    body["card"]["pan"] = "12"

    response = _post(tsp, "/provisioning-requests", body)

    assert response.status_code == 422
    assert not Token.objects.exists()


def test_a_key_without_the_scope_is_403_and_no_key_is_401(payable_card):
    processor = _client([ApiScope.PROCESSOR])

    assert _post(processor, "/provisioning-requests", _request(payable_card)).status_code == 403
    assert _post(Client(), "/provisioning-requests", _request(payable_card)).status_code == 401


def test_a_banks_key_cannot_have_the_token_service_scope(db):
    with pytest.raises(ValidationFailed):
        api_key_create(actor=ADMIN, name="Bank core", scopes=[ApiScope.TOKEN_SERVICE], bank=bank_factory(code="BSX"))


def test_the_schema_is_served(tsp):
    schema = tsp.get(f"{BASE}/openapi.json").json()

    assert "/api/token-service/v1/provisioning-requests" in schema["paths"]


def test_a_token_of_a_blocked_card_activated_by_the_wallet_is_suspended_by_the_block(tsp, payable_card):
    _post(tsp, "/provisioning-requests", _request(payable_card, recommendation="approve"))
    card_block_temporarily(actor=ADMIN, card=payable_card)

    answer = _post(tsp, "/tokens/DNITHE000000001/events", {"event": "activated"}).json()

    assert (answer["status"], answer["suspended_by"]) == ("suspended", SuspendedBy.CARD_BLOCK)
