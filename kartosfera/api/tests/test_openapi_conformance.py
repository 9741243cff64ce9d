"""The OpenAPI schema says what the server does: schemathesis against the app, and direct checks.

schemathesis (all its checks but ``positive_data_acceptance``) sends what the schema allows and
what it forbids, and fails on any answer the schema does not describe: a 5xx, an undeclared
status, content type or body, a forbidden value accepted, a required header not enforced, an
undeclared method not refused with 405. ``positive_data_acceptance`` stays off because the
schema cannot express business rules (a PESEL checksum, Luhn, limits within the product's
maxima, an existing customer): schema-valid data may rightly get a 422 (docs/api.md).

Bounded and deterministic: a fixed seed, derandomized generation, a few examples per operation.
Each operation runs in a fresh database holding the objects the schema's examples name
(``world``), so that the examples reach real objects and 2xx answers are checked too.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings

from kartosfera.accounts.models import AccountKind
from kartosfera.api.tests.conftest import BASE, errors_by_field
from kartosfera.banks.models import Branch
from kartosfera.cards.models import Brand
from kartosfera.customers.models import Residency
from kartosfera.processing.models import ConversionRate, EcbReferenceRate
from kartosfera.testing.factories import (
    account_factory,
    bank_factory,
    card_factory,
    customer_factory,
    product_factory,
)
from kartosfera.testing.openapi import assert_error_format, connection_kept, wsgi_schema

SCHEMA_URL = BASE + "/openapi.json"
schema = wsgi_schema(SCHEMA_URL, max_examples=10)


@pytest.fixture
def world(db, provisioning_key) -> dict[str, str]:
    """The objects the schema's examples name, and the bank's real API key."""
    customer = customer_factory(reference="CIF-000123", pesel="85031412309")
    account = account_factory(customer=customer, reference="ACC-000987", kind=AccountKind.DEBIT)
    product = product_factory(code="VISA-DEBIT", brand=Brand.VISA)
    card_factory(customer=customer, product=product, account=account, reference="CARD-000555", pan="4000000001234568")
    ConversionRate.objects.create(
        from_currency="EUR", to_currency="PLN", rate=Decimal("4.2735"), valid_from=timezone.now() - timedelta(days=1)
    )
    EcbReferenceRate.objects.create(
        currency="PLN",
        rate=Decimal("4.2350"),
        rate_date=timezone.localdate() - timedelta(days=1),
        available_from=timezone.now() - timedelta(hours=12),
    )
    _, token = provisioning_key
    with connection_kept():
        yield {"Authorization": f"Bearer {token}"}


@schema.parametrize()
# One world per operation, shared by its generated cases: what a case creates, later cases see.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_does_what_its_openapi_schema_says(case, world):
    response = case.call_and_validate(headers=world)

    assert_error_format(response)  # every refusal, declared or not (405), in the one error format


@pytest.fixture
def group_world(db, group_key) -> dict[str, str]:
    """For the group's endpoints (banks, branches, rates): a key of the group's systems, the example bank."""
    Branch.objects.create(bank=bank_factory(), name="Centrala", street="Rynek 1", postal_code="00-950", city="X")
    _, token = group_key
    with connection_kept():
        yield {"Authorization": f"Bearer {token}"}


@schema.include(path_regex=r"/(banks|conversion-rates|reference-rates)").parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_group_endpoints_do_what_the_schema_says_for_a_group_key(case, group_world):
    # The run above uses a bank's key, to which these answer 403 or 404: here they are exercised for real.
    response = case.call_and_validate(headers=group_world)

    assert_error_format(response)


# --- What schemathesis alone would not catch -------------------------------------------


def _operations(api_schema: dict[str, Any]):
    for path, methods in api_schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


@pytest.fixture
def api_schema(anonymous) -> dict[str, Any]:
    return anonymous.client.get(SCHEMA_URL).json()


def test_every_create_declares_the_idempotency_key_it_requires(api_schema):
    creates = [(path, op) for path, method, op in _operations(api_schema) if method == "post"]

    assert len(creates) == 12
    for path, operation in creates:
        (key,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert key["in"] == "header"
        assert key["required"] is True, path
        assert key["schema"]["pattern"] == "^[!-~]{1,255}$"


def _nullable(property_schema: dict[str, Any]) -> bool:
    return any(option.get("type") == "null" for option in property_schema.get("anyOf", []))


PATCH_TARGETS = {
    # An object on which null is a valid value wherever the schema allows it (a debit account
    # has no credit terms; a non-resident's birth date is not fixed by a PESEL). Banks and
    # branches are the group's: their paths are called with a key of the group's systems.
    "/customers/{reference}": lambda: "/customers/" + _number(customer_factory(residency=Residency.NON_RESIDENT)),
    "/accounts/{reference}": lambda: (
        "/accounts/" + account_factory(customer=customer_factory(), kind=AccountKind.DEBIT).reference
    ),
    "/card-products/{code}": lambda: "/card-products/" + product_factory().code,
    "/banks/{code}": lambda: "/banks/" + bank_factory("BSPATCH").code,
    "/banks/{code}/branches/{branch_id}": lambda: f"/banks/BSPATCH2/branches/{_branch().pk}",
}


def _number(customer) -> str:
    return customer.memberships.get().customer_number


def _branch():
    return Branch.objects.create(
        bank=bank_factory("BSPATCH2"),
        name=f"Branch {Branch.objects.count()}",
        street="Rynek 1",
        postal_code="00-950",
        city="X",
    )


def test_null_is_accepted_exactly_where_the_schema_says_a_field_is_nullable(bank, group, api_schema):
    checked = 0
    for path, method, operation in _operations(api_schema):
        if method != "patch":
            continue
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body_schema = api_schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        template = path.removeprefix(BASE)
        client = group if template.startswith("/banks") else bank
        for field, property_schema in body_schema["properties"].items():
            target = PATCH_TARGETS[template]()
            response = client.patch(target, raw=json.dumps({field: None}))
            if _nullable(property_schema):
                assert response.status_code == 200, (path, field, response.content)
            else:
                assert response.status_code == 422, (path, field, response.content)
                assert field in errors_by_field(response)
            checked += 1

    assert checked >= 30
