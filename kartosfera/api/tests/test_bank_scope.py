"""Bank secrecy in the provisioning API: a bank's key works in its bank only; a group key names the bank.

The endpoint lists below are read from the OpenAPI schema, so an endpoint added later is checked too:
every operation with an object in its path is a 404 to another bank's key, and every bank-scoped
operation (one that declares X-Bank-Code) needs the header from a group key.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.api.models import ApiKey, ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.api.tests.conftest import BASE, ApiClient, audit_rows, errors_by_field
from kartosfera.banks.models import Bank, Branch
from kartosfera.cards.models import Brand, Card, CardProduct
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import BankMembership, Customer
from kartosfera.testing.factories import (
    account_factory,
    bank_factory,
    card_factory,
    customer_factory,
    make_pesel,
    product_factory,
)

pytestmark = pytest.mark.django_db

OTHER = "BSB"
# Group-wide data and the group's own endpoints: not bank-scoped, so they declare no X-Bank-Code.
NOT_BANK_SCOPED = {
    ("post", "/conversion-rates"),
    ("get", "/conversion-rates/{from_currency}/{to_currency}"),
    ("post", "/reference-rates"),
    ("get", "/reference-rates/{currency}"),
    ("post", "/banks"),
    ("get", "/banks"),
    ("get", "/banks/{code}"),
    ("patch", "/banks/{code}"),
    ("post", "/banks/{code}/branches"),
    ("get", "/banks/{code}/branches"),
    ("patch", "/banks/{code}/branches/{branch_id}"),
    ("put", "/banks/{code}/logo"),
}
# A bank's logo as the logo endpoint takes it: the image itself, not JSON.
LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'
# Of those, the ones whose object any key may read (group-wide data, not a bank's).
GROUP_WIDE_READS = {
    ("get", "/conversion-rates/{from_currency}/{to_currency}"),
    ("get", "/reference-rates/{currency}"),
}


def _client(bank: Bank | None, *, bank_code: str | None = None) -> ApiClient:
    api_key, token = api_key_create(
        actor=Actor.system("tests"), name=f"core {bank.code if bank else 'group'}", scopes=["provisioning"], bank=bank
    )
    return ApiClient(token=token, api_key=api_key, bank_code=bank_code)


@pytest.fixture
def other_bank(db) -> Bank:
    return bank_factory(OTHER, name="Bank Spółdzielczy B", short_name="BS B")


@pytest.fixture
def other(other_bank) -> ApiClient:
    """Bank B's own core system."""
    return _client(other_bank)


@pytest.fixture
def schema(anonymous) -> dict[str, Any]:
    return anonymous.client.get(BASE + "/openapi.json").json()


def _operations(schema: dict[str, Any]):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method, path.removeprefix(BASE), operation


def _example_body(schema: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    if "requestBody" not in operation or "application/json" not in operation["requestBody"]["content"]:
        return None
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    return schema["components"]["schemas"][ref]["examples"][0]


def _call(client: ApiClient, method: str, path: str, body: dict[str, Any] | None):
    if method == "get":
        return client.get(path)
    if method == "post":
        return client.post(path, body)
    if method == "put":
        return client.client.put(BASE + path, LOGO, content_type="image/svg+xml")
    return client.patch(path, body)


@pytest.fixture
def bank_b_world(other_bank) -> dict[str, str]:
    """Bank B's objects under the references the schema's examples name; bank A (the default) has none of them."""
    customer = customer_factory(bank=other_bank, reference="CIF-000123")
    product = product_factory(bank=other_bank, code="VISA-DEBIT", brand=Brand.VISA)
    account = account_factory(customer=customer, bank=other_bank, reference="ACC-000987", kind=AccountKind.DEBIT)
    card_factory(customer=customer, product=product, account=account, reference="CARD-000555", pan="4000000001234568")
    branch = Branch.objects.create(bank=other_bank, name="Centrala", street="Rynek 1", postal_code="00-950", city="B")
    # Path parameters that are not an object's own reference: the bank is B, the branch B's.
    return {"code": OTHER, "branch_id": str(branch.pk)}


def _path_for(schema_path: str, operation: dict[str, Any], world: dict[str, str]) -> str:
    path = schema_path
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        name = parameter["name"]
        # /banks/{code} names the bank; /card-products/{code} the product (the schema's example).
        value = world[name] if schema_path.startswith("/banks") or name == "branch_id" else parameter["example"]
        path = path.replace("{" + name + "}", str(value))
    return path


def test_another_banks_key_gets_404_for_every_object_and_a_group_key_naming_the_bank_reaches_it(
    bank, schema, bank_b_world, other_bank
):
    object_operations = [
        (method, path, operation)
        for method, path, operation in _operations(schema)
        if "{" in path and (method, path) not in GROUP_WIDE_READS
    ]
    assert len(object_operations) >= 15
    audit_before = AuditEvent.objects.count()

    for method, path, operation in object_operations:
        body = _example_body(schema, operation)
        response = _call(bank, method, _path_for(path, operation, bank_b_world), body)
        assert response.status_code == 404, (method, path, response.content)
        assert response.json()["code"] == "not_found", (method, path)

    assert AuditEvent.objects.count() == audit_before, "a refused request changes nothing"
    group = _client(None, bank_code=OTHER)
    for method, path, operation in object_operations:
        body = _example_body(schema, operation)
        response = _call(group, method, _path_for(path, operation, bank_b_world), body)
        assert response.status_code != 404, (method, path, response.content)


def test_every_bank_scoped_endpoint_declares_x_bank_code_and_the_others_do_not(schema):
    for method, path, operation in _operations(schema):
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        if (method, path) in NOT_BANK_SCOPED:
            assert "X-Bank-Code" not in headers, (method, path)
        else:
            assert headers["X-Bank-Code"]["required"] is False, (method, path)
            assert "group" in headers["X-Bank-Code"]["description"]


def test_a_group_key_without_x_bank_code_gets_422_on_every_bank_scoped_endpoint(schema, bank_b_world):
    group = _client(None)
    checked = 0
    for method, path, operation in _operations(schema):
        if (method, path) in NOT_BANK_SCOPED:
            continue
        response = _call(group, method, _path_for(path, operation, bank_b_world), _example_body(schema, operation))

        assert response.status_code == 422, (method, path, response.content)
        assert response.json()["code"] == "bank_code_missing"
        assert "X-Bank-Code" in errors_by_field(response)
        checked += 1
    assert checked >= 11


@pytest.mark.parametrize("code", ["NOPE", "bsb-", "x" * 300, "'; DROP"])
def test_a_group_key_naming_an_unknown_bank_gets_404(code, other_bank):
    response = _client(None, bank_code=code).get("/customers/CIF-000123")

    assert response.status_code == 404
    assert response.json()["code"] == "bank_not_found"


def test_a_bank_key_may_name_its_own_bank_but_gets_404_for_another(bank, other_bank):
    customer_factory(reference="CIF-A")

    assert bank.get("/customers/CIF-A", **{"X-Bank-Code": "BANK"}).status_code == 200
    assert bank.get("/customers/CIF-A", **{"X-Bank-Code": "bank"}).status_code == 200
    refused = bank.get("/customers/CIF-A", **{"X-Bank-Code": OTHER})
    assert refused.status_code == 404 and refused.json()["code"] == "bank_not_found"
    created = bank.post("/card-products", _product("P-1"), **{"X-Bank-Code": OTHER})
    assert created.status_code == 404
    assert not CardProduct.objects.filter(code="P-1").exists()


def test_a_group_key_sees_each_bank_through_its_code(other_bank):
    customer_factory(reference="CIF-A")
    customer_factory(reference="CIF-B", bank=other_bank)
    in_a, in_b = _client(None, bank_code="BANK"), _client(None, bank_code=OTHER)

    assert in_a.get("/customers/CIF-A").status_code == 200
    assert in_b.get("/customers/CIF-B").status_code == 200
    assert in_a.get("/customers/CIF-B").status_code == 404
    assert in_b.get("/customers/CIF-A").status_code == 404


def test_a_group_key_creates_in_the_bank_it_names_and_is_audited_with_that_bank(other_bank):
    group = _client(None, bank_code=OTHER)

    response = group.post("/card-products", _product("GOLD"))

    assert response.status_code == 201
    assert response.json()["bank"] == OTHER
    assert CardProduct.objects.get(code="GOLD").bank == other_bank
    [row] = audit_rows(group.api_key, "cards.product.created")
    assert row.bank_id == other_bank.pk


def _customer(reference: str, n: int, **overrides: Any) -> dict[str, Any]:
    return {
        "reference": reference,
        "residency": "resident",
        "first_name": "Anna",
        "last_name": "Nowak",
        "pesel": make_pesel(dt.date(1985, 3, 14), n, female=True),
        "phone_on_file": "600100200",
        **overrides,
    }


def _product(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "name": "Visa Debit",
        "brand": "visa",
        "funding": "debit",
        "segment": "individual",
        "cash_limit_max_minor": 500000,
        "noncash_limit_max_minor": 1000000,
        "internet_limit_max_minor": 1000000,
        "cash_limit_default_minor": 200000,
        "noncash_limit_default_minor": 500000,
    }


def test_the_same_references_at_two_banks_are_two_sets_of_objects(bank, other):
    for client, n in ((bank, 601), (other, 602)):
        assert client.post("/customers", _customer("CIF-1", n)).status_code == 201
        assert client.post("/card-products", _product("VD")).status_code == 201
        account = {"reference": "ACC-1", "customer": "CIF-1", "kind": "debit"}
        assert client.post("/accounts", account).status_code == 201
        card = {"reference": "C-1", "product": "VD", "account": "ACC-1", "customer": "CIF-1"}
        card |= {"pan": "4000000001234568" if n == 601 else "4000000009876543", "embossed_name": "ANNA NOWAK"}
        response = client.post("/cards", card)
        assert response.status_code == 201, response.content

    assert Customer.objects.count() == 2
    assert Account.objects.filter(reference="ACC-1").count() == 2
    assert CardProduct.objects.filter(code="VD").count() == 2
    assert Card.objects.filter(reference="C-1").count() == 2
    for client, code in ((bank, "BANK"), (other, OTHER)):
        card = client.get("/cards/C-1").json()
        assert (card["bank"], card["customer"], card["account"], card["product"]) == (code, "CIF-1", "ACC-1", "VD")
        assert client.get("/accounts/ACC-1").json()["bank"] == code
        assert client.get("/card-products/VD").json()["bank"] == code
    assert bank.get("/cards/C-1").json()["last4"] == "4568"
    assert other.get("/cards/C-1").json()["last4"] == "6543"


def test_a_create_naming_another_banks_objects_answers_as_for_unknown_ones(bank, other_bank, bank_b_world):
    account = bank.post("/accounts", {"reference": "ACC-A", "customer": "CIF-000123", "kind": "debit"})
    unknown = bank.post("/accounts", {"reference": "ACC-A", "customer": "CIF-NOBODY", "kind": "debit"})

    assert account.status_code == unknown.status_code == 422
    assert account.json() == unknown.json()
    card = {"reference": "C-A", "product": "VISA-DEBIT", "account": "ACC-000987", "customer": "CIF-000123"}
    refused = bank.post("/cards", card | {"pan": "4000000001234568", "embossed_name": "ANNA NOWAK"})
    assert refused.status_code == 422
    assert set(errors_by_field(refused)) == {"product"}
    assert not Account.objects.filter(reference="ACC-A").exists()
    assert not Card.objects.filter(reference="C-A").exists()


def _created(response) -> dict[str, Any]:
    body = response.json()
    # The moments are the request's own; everything else must be the same for a new and a known person.
    for moment in ("created_at", "updated_at"):
        when = dt.datetime.fromisoformat(body.pop(moment))
        assert abs(timezone.now() - when) < dt.timedelta(minutes=1)
    return body


def test_a_person_another_bank_serves_joins_and_the_answer_is_a_new_customers(bank, other):
    known = _customer("A-77", 701, first_name="Ania", phone_on_file="600700700")
    assert bank.post("/customers", known).status_code == 201
    Customer.objects.update(created_at=timezone.now() - dt.timedelta(days=400))
    Customer.objects.update(updated_at=timezone.now() - dt.timedelta(days=300))
    BankMembership.objects.update(created_at=timezone.now() - dt.timedelta(days=400))

    joined = other.post("/customers", _customer("B-1", 701, phone_on_file="600100200"))
    fresh = other.post("/customers", _customer("B-2", 702, phone_on_file="600100200"))

    assert joined.status_code == fresh.status_code == 201
    joined_body, fresh_body = _created(joined), _created(fresh)
    assert joined_body["reference"] == "B-1" and fresh_body["reference"] == "B-2"
    assert {k for k in joined_body if joined_body[k] != fresh_body[k]} == {"reference", "pesel"}
    person = Customer.objects.get(pesel=known["pesel"])
    assert Customer.objects.filter(pesel=known["pesel"]).count() == 1
    assert dict(person.memberships.values_list("bank__code", "customer_number")) == {"BANK": "A-77", OTHER: "B-1"}
    assert other.get("/customers/B-1").json()["reference"] == "B-1"
    assert bank.get("/customers/A-77").json()["reference"] == "A-77"
    assert other.get("/customers/A-77").status_code == 404
    assert bank.get("/customers/B-1").status_code == 404


def test_accounts_and_cards_name_the_customer_by_their_own_banks_number(other_bank):
    person = customer_factory(reference="A-9")
    assert customer_factory(bank=other_bank, reference="B-9", pesel=person.pesel).pk == person.pk
    product = product_factory(bank=other_bank, code="VD")
    account = account_factory(customer=person, bank=other_bank, reference="ACC-B9")
    card_factory(customer=person, product=product, account=account, reference="C-B9")
    group = _client(None, bank_code=OTHER)

    assert group.get("/accounts/ACC-B9").json()["customer"] == "B-9"
    assert group.get("/cards/C-B9").json()["customer"] == "B-9"
    assert group.get("/customers/B-9").json()["reference"] == "B-9"


def test_a_group_keys_idempotency_key_is_per_bank(other_bank):
    in_a = _client(None, bank_code=bank_factory().code)
    in_b = ApiClient(token=in_a.token, api_key=in_a.api_key, bank_code=OTHER)
    first = in_a.post("/card-products", _product("SAME"), key="k-1")

    again = in_b.post("/card-products", _product("SAME"), key="k-1")

    # Not a replay of bank A's answer as if it were bank B's product.
    assert first.status_code == 201
    assert again.status_code == 422 and again.json()["code"] == "idempotency_key_reused"
    assert CardProduct.objects.filter(code="SAME").count() == 1


def test_rates_are_provisioned_by_group_keys_only_and_read_by_every_key(bank):
    body = {"from_currency": "EUR", "to_currency": "PLN", "rate": "4.2735"}
    refused = bank.post("/conversion-rates", body)
    assert refused.status_code == 403 and refused.json()["code"] == "group_key_required"
    ecb = bank.post("/reference-rates", {"date": str(timezone.localdate()), "rates": {"PLN": "4.2350"}})
    assert ecb.status_code == 403 and ecb.json()["code"] == "group_key_required"

    assert _client(None).post("/conversion-rates", body).status_code == 201
    assert bank.get("/conversion-rates/EUR/PLN").status_code == 200


def test_a_processor_key_that_belongs_to_a_bank_is_refused_the_processor_api(db):
    api_key, token = api_key_create(actor=Actor.system("tests"), name="processor", scopes=[ApiScope.PROCESSOR])
    # api_key_create refuses this (test_api_keys.py); a row changed by other means is refused all the same.
    ApiKey.objects.filter(pk=api_key.pk).update(bank=bank_factory())

    response = ApiClient(token=token).client.post(
        "/api/processor/v1/authorizations", json.dumps({}), content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_a_bank_reads_back_only_what_it_reported_of_a_shared_person(bank, other):
    """The person's phone and birth date that bank A sent never show in bank B's answers, nor B's in A's."""
    body = {
        "reference": "A-77",
        "residency": "non_resident",
        "first_name": "Olena",
        "last_name": "Kovalenko",
        "nonresident_id": "NR-SHARED-1",
        "birth_date": "1990-04-02",
        "phone_on_file": "+48600111222",
    }
    assert bank.post("/customers", body).status_code == 201
    joined = other.post(
        "/customers",
        {
            "reference": "B-9",
            "residency": "non_resident",
            "first_name": "Olena",
            "last_name": "Kovalenko",
            "nonresident_id": "NR-SHARED-1",
        },
    )
    assert joined.status_code == 201, joined.json()
    assert joined.json()["phone_on_file"] is None and joined.json()["birth_date"] is None
    # B reports a new phone: the person's record takes it; A still reads its own report.
    assert other.patch("/customers/B-9", {"phone_on_file": "+48600999888"}).status_code == 200
    assert bank.get("/customers/A-77").json()["phone_on_file"] == "+48600111222"
    assert other.get("/customers/B-9").json()["phone_on_file"] == "+48600999888"
    assert Customer.objects.get(nonresident_id="NR-SHARED-1").phone_on_file == "+48600999888"
