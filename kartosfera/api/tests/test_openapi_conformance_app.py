"""The BS Pay app's API does what its OpenAPI schema says: schemathesis against the app (as for provisioning).

Every request is signed as the app signs it (SigningApp, kartosfera/devices/tests/app_client.py) by a
device activated for Anna, whose world holds what the schema's examples name: her active card (the
story's, mobile payments on) with a token in Google Pay, a confirmation this device asked for, and an
activation code 12345678 for the example's activation. The examples' ids stand for the world's (an id
is the database's). Then run again unsigned, signed with a wrong key, by an unknown device and by a
blocked one: every signed operation refuses, in the error format. Bounded and deterministic
(kartosfera/testing/openapi.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings

from kartosfera.api.app import CARD_ID_EXAMPLE, CONFIRMATION_ID_EXAMPLE, TOKEN_ID_EXAMPLE
from kartosfera.cards.operations_services import card_mobile_payments_activate
from kartosfera.cards.stepup_operations import CARD_ACTIVATE
from kartosfera.core.audit import Actor
from kartosfera.devices.services import device_activation_code_issue, device_block_temporarily
from kartosfera.devices.tests.app_client import AppClient, SigningApp
from kartosfera.devices.tests.helpers import device_for
from kartosfera.sca.stepup import Channel, ConfirmationNeeded, stepup_request
from kartosfera.testing.openapi import (
    assert_error_format,
    assert_refused_with_each,
    connection_kept,
    production_app,
    wsgi_schema,
)
from kartosfera.testing.tokens import token_factory

SCHEMA_URL = "/api/app/v1/openapi.json"
ACTIVATION_CODE = "12345678"
KEYS = {
    "device": Ed25519PrivateKey.from_private_bytes(b"kartosfera-app-api-device-key-01"),
    "blocked": Ed25519PrivateKey.from_private_bytes(b"kartosfera-app-api-device-key-02"),
    "wrong": Ed25519PrivateKey.from_private_bytes(b"kartosfera-app-api-a-wrong-key-3"),
}
schema = wsgi_schema(SCHEMA_URL, max_examples=6, app=SigningApp(production_app(), KEYS))
# Without or with wrong credentials: the examples and a generated case of each operation, each sent with every one.
refusal_schema = wsgi_schema(SCHEMA_URL, max_examples=1, coverage=False, app=SigningApp(production_app(), KEYS))
HOLDER = Actor.system("tests")


@dataclass
class AppWorld:
    headers: dict[str, str]
    # The schema's example of each path parameter → the world's object it stands for.
    ids: dict[str, dict[Any, Any]]
    device_id: str
    blocked_device_id: str

    def path_parameters(self, case: Any) -> dict[str, Any]:
        return {
            name: self.ids.get(name, {}).get(str(value), value) for name, value in (case.path_parameters or {}).items()
        }


@pytest.fixture
def world(cardholder, card, story_card, monkeypatch) -> AppWorld:
    customer = cardholder.customer
    card_mobile_payments_activate(actor=HOLDER, card=story_card)
    token = token_factory(card=story_card)
    device = device_for(customer, "Pixel 8", app=AppClient(private_key=KEYS["device"]))
    blocked = device_for(customer, "Old phone", app=AppClient(private_key=KEYS["blocked"]))
    device_block_temporarily(actor=HOLDER, device=blocked, reason="Phone lost")
    # Anna's new card (``card``, inactive) waits for the SMS code sent to this device.
    answer = stepup_request(
        actor=HOLDER,
        user=cardholder.user,
        operation=CARD_ACTIVATE,
        payload={},
        card=card,
        channel=Channel.APP,
        app_device_id=device.public_id,
    )
    assert isinstance(answer, ConfirmationNeeded)
    # The activation the example makes: Anna's code, as the portal showed it, is the example's.
    with monkeypatch.context() as patch:
        patch.setattr(secrets, "randbelow", lambda _n: int(ACTIVATION_CODE))
        device_activation_code_issue(actor=HOLDER, customer=customer)
    with connection_kept():
        yield AppWorld(
            headers={"X-Device-Id": str(device.public_id), "X-Test-Signing-Key": "device"},
            ids={
                "card_id": {str(CARD_ID_EXAMPLE): story_card.pk},
                "token_id": {str(TOKEN_ID_EXAMPLE): token.pk},
                "confirmation_id": {str(CONFIRMATION_ID_EXAMPLE): str(answer.challenge.public_id)},
            },
            device_id=str(device.public_id),
            blocked_device_id=str(blocked.public_id),
        )


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_app_api_does_what_its_openapi_schema_says(case, world):
    case.path_parameters = world.path_parameters(case)
    response = case.call_and_validate(headers=world.headers)

    assert_error_format(response)


@refusal_schema.exclude(path_regex=r"/activations$").parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_app_api_refuses_a_request_its_device_did_not_sign(case, world):
    case.path_parameters = world.path_parameters(case)
    unknown_device = "00000000-0000-4000-8000-000000000000"
    assert_refused_with_each(
        case,
        [
            {},
            {"X-Device-Id": world.device_id},
            {"X-Device-Id": world.device_id, "X-Test-Signing-Key": "wrong"},
            {"X-Device-Id": unknown_device, "X-Test-Signing-Key": "device"},
            {"X-Device-Id": world.blocked_device_id, "X-Test-Signing-Key": "blocked"},
        ],
    )
