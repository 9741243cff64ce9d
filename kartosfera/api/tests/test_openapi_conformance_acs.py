"""The ACS API does what its OpenAPI schema says: schemathesis against the app (as for provisioning).

Run with the directory server's real key in a database holding the card the schema's example AReq
names (the story's card, 4000000001234568; docs/api.md), with a 3-D Secure PIN: the example gets a
real answer (Y, C, N or R, each an ARes the schema describes) and its retries the same answer. Then
run again without a key and with a key of another API: refused, in the error format, nothing stored.
Bounded and deterministic (kartosfera/testing/openapi.py).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from kartosfera.acs.models import AuthenticationRecord
from kartosfera.acs.tests.helpers import with_threeds_pin
from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.api.tests.conftest import STORY_PAN
from kartosfera.core.audit import Actor
from kartosfera.processing.tests.helpers import CardFixture
from kartosfera.testing.openapi import (
    assert_error_format,
    assert_refused_with_each,
    connection_kept,
    wrong_credentials,
    wsgi_schema,
)

SCHEMA_URL = "/api/acs/v2/openapi.json"
schema = wsgi_schema(SCHEMA_URL, max_examples=15)
# Without or with wrong credentials: the examples and a generated case of each operation, each sent with every one.
refusal_schema = wsgi_schema(SCHEMA_URL, max_examples=1, coverage=False)


@pytest.fixture
def world(story_card):
    """The story card, whose holder has a 3-D Secure PIN; the directory server's key."""
    with_threeds_pin(CardFixture(card=story_card, pan=STORY_PAN))
    _key, token = api_key_create(actor=Actor.system("tests"), name="directory server", scopes=[ApiScope.ACS])
    with connection_kept():
        yield {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_acs_api_does_what_its_openapi_schema_says(case, world):
    response = case.call_and_validate(headers=world)

    assert_error_format(response)
    if response.status_code == 200:
        assert STORY_PAN not in response.text


@pytest.fixture
def others(world) -> list[dict[str, str]]:
    return wrong_credentials(other_scope=ApiScope.TOKEN_SERVICE)


@refusal_schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_acs_api_refuses_without_its_key(case, others):
    assert_refused_with_each(case, others)

    assert not AuthenticationRecord.objects.exists()
