"""The processor API does what its OpenAPI schema says: schemathesis against the app (as for provisioning).

Every answer is one the schema describes (no 5xx, no undeclared status or body), every refusal in
the one error format. Bounded and deterministic: a fixed seed, derandomized, a few examples each.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.core.audit import Actor
from kartosfera.processing.tests.helpers import active_card, decide

SCHEMA_URL = "/api/processor/v1/openapi.json"
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261129,
        "generation": {"max-examples": 15, "deterministic": True},
        "checks": {"enabled": True, "positive_data_acceptance": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, WSGIHandler(), config=CONFIG)


@pytest.fixture
def world(db):
    """A card with an authorization the examples name (auth-000123), and the processor's key."""
    tc = active_card()
    decide(tc, processor_id="auth-000123", amount_minor=10_000)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    _key, token = api_key_create(actor=Actor.system("tests"), name="processor", scopes=[ApiScope.PROCESSOR])
    yield {"Authorization": f"Bearer {token}"}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_processor_api_does_what_its_openapi_schema_says(case, world):
    response = case.call_and_validate(headers=world)

    if response.status_code >= 400:
        assert set(response.json()) == {"detail", "code", "errors"}, response.json()
