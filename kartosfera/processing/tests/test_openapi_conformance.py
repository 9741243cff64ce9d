"""The processor API does what its OpenAPI schema says: schemathesis against the app (as for provisioning).

Every answer is one the schema describes (no 5xx, no undeclared status or body), every refusal in
the one error format. Bounded and deterministic: a fixed seed, derandomized, a few examples each.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.core.audit import Actor
from kartosfera.processing.tests.helpers import active_card, decide
from kartosfera.testing.openapi import assert_error_format, connection_kept, wsgi_schema

SCHEMA_URL = "/api/processor/v1/openapi.json"
schema = wsgi_schema(SCHEMA_URL, max_examples=15)


@pytest.fixture
def world(db):
    """A card with an authorization the examples name (auth-000123), and the processor's key."""
    tc = active_card()
    decide(tc, processor_id="auth-000123", amount_minor=10_000)
    _key, token = api_key_create(actor=Actor.system("tests"), name="processor", scopes=[ApiScope.PROCESSOR])
    with connection_kept():
        yield {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_processor_api_does_what_its_openapi_schema_says(case, world):
    response = case.call_and_validate(headers=world)

    assert_error_format(response)
