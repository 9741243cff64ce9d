"""The token service API does what its OpenAPI schema says: schemathesis against the app (as for provisioning).

Run with the provider's real key in a database holding what the schema's examples name: the story's
card (4000000001234568, 2029-08; docs/api.md) with mobile payments on, and its token DNITHE000000001
waiting for the holder's SMS code. Then run again without a key and with a key of another API: every
operation refuses, in the error format. Bounded and deterministic (kartosfera/testing/openapi.py).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.api.tests.conftest import STORY_PAN
from kartosfera.cards.operations_services import card_mobile_payments_activate
from kartosfera.core.audit import Actor
from kartosfera.testing.openapi import (
    assert_error_format,
    assert_refused_with_each,
    connection_kept,
    wrong_credentials,
    wsgi_schema,
)
from kartosfera.tokens.models import Token
from kartosfera.tokens.provisioning import ProvisioningRequest, token_provisioning_decide
from kartosfera.tokens.states import DeviceType, TokenStatus, Wallet

SCHEMA_URL = "/api/token-service/v1/openapi.json"
schema = wsgi_schema(SCHEMA_URL, max_examples=8)
# Without or with wrong credentials: the examples and a generated case of each operation, each sent with every one.
refusal_schema = wsgi_schema(SCHEMA_URL, max_examples=1, coverage=False)
ADMIN = Actor.system("tests")


@pytest.fixture
def world(story_card):
    """The story card and its token waiting for a code; the token service provider's key."""
    card = card_mobile_payments_activate(actor=ADMIN, card=story_card)
    answer = token_provisioning_decide(
        actor=ADMIN,
        request=ProvisioningRequest(
            pan=STORY_PAN,
            expiry=card.expiry,
            token_reference="DNITHE000000001",
            token_last4="4321",
            wallet=Wallet.GOOGLE_PAY,
            device_name="Pixel 8",
            device_type=DeviceType.PHONE,
            recommendation="require_verification",
        ),
    )
    assert answer.decision == "require_verification", answer
    assert Token.objects.get(token_reference="DNITHE000000001").status == TokenStatus.REQUESTED
    _key, token = api_key_create(actor=ADMIN, name="token service provider", scopes=[ApiScope.TOKEN_SERVICE])
    with connection_kept():
        yield {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_token_service_api_does_what_its_openapi_schema_says(case, world):
    response = case.call_and_validate(headers=world)

    assert_error_format(response)


@pytest.fixture
def others(world) -> list[dict[str, str]]:
    return wrong_credentials(other_scope=ApiScope.PROCESSOR)


@refusal_schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_token_service_api_refuses_without_its_key(case, others):
    assert_refused_with_each(case, others)

    token = Token.objects.get()
    assert (token.token_reference, token.status) == ("DNITHE000000001", TokenStatus.REQUESTED)
