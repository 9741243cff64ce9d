from __future__ import annotations

import hashlib
import json

import pytest
from django.test import override_settings

from kartosfera.api.models import IdempotencyRecord
from kartosfera.api.tests.conftest import ApiClient, audit_rows, errors_by_field
from kartosfera.cards.models import Card, CardProduct
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer
from kartosfera.testing.factories import account_factory, card_factory, customer_factory, make_pan, product_factory

pytestmark = pytest.mark.django_db

CUSTOMER = {"reference": "CIF-IDEM", "residency": "non_resident", "first_name": "Jan", "last_name": "Kos"}


def test_a_create_without_an_idempotency_key_is_400_with_a_clear_message(bank):
    response = bank.post("/customers", CUSTOMER, key=None, **{"Accept-Language": "en"})

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"
    assert "Idempotency-Key" in response.json()["detail"]
    assert "Idempotency-Key" in errors_by_field(response)
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    "path", ["/customers", "/accounts", "/card-products", "/cards", "/cards/X/renew", "/cards/X/replace"]
)
def test_every_create_requires_an_idempotency_key(bank, path):
    card_factory(customer=customer_factory(), reference="X")
    # The key is checked with the schema, and before the card in the path: send a body that passes the
    # schema, so that only the key is missing.
    bodies = {
        "/customers": CUSTOMER,
        "/accounts": {"reference": "A", "customer": "C", "kind": "debit"},
        "/card-products": {
            "code": "P",
            "name": "P",
            "brand": "visa",
            "funding": "debit",
            "segment": "individual",
            "cash_limit_max_minor": 1,
            "noncash_limit_max_minor": 1,
            "internet_limit_max_minor": 1,
            "cash_limit_default_minor": 1,
            "noncash_limit_default_minor": 1,
        },
        "/cards": {"reference": "R", "product": "P", "account": "A", "customer": "C", "pan": "4", "embossed_name": "X"},
        "/cards/X/renew": {"reference": "R"},
        "/cards/X/replace": {"reference": "R", "pan": "4"},
    }

    response = bank.post(path, bodies[path], key=None)

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"


@pytest.mark.parametrize("key", ["has space", "é", "x" * 256])
def test_an_unusable_idempotency_key_is_400(bank, key):
    response = bank.client.post(
        "/api/provisioning/v1/customers",
        json.dumps(CUSTOMER),
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"


def test_a_retry_with_the_same_key_and_body_gets_the_same_answer_and_creates_nothing(bank):
    first = bank.post("/customers", CUSTOMER, key="retry-1")
    audit_count = AuditEvent.objects.count()

    second = bank.post("/customers", CUSTOMER, key="retry-1")

    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"] == "application/json; charset=utf-8"
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Customer.objects.count() == 1
    assert AuditEvent.objects.count() == audit_count
    assert len(audit_rows(bank.api_key, "customers.customer.created")) == 1


def test_the_replay_is_the_stored_answer_even_after_the_object_changed(bank):
    first = bank.post("/customers", CUSTOMER, key="retry-2")
    bank.patch("/customers/CIF-IDEM", {"first_name": "Janusz"})

    second = bank.post("/customers", CUSTOMER, key="retry-2")

    assert second.json() == first.json()
    assert second.json()["first_name"] == "Jan"


def test_key_order_and_whitespace_do_not_make_a_different_request(bank):
    bank.post("/customers", CUSTOMER, key="retry-3")
    reordered = json.dumps(dict(reversed(list(CUSTOMER.items()))), indent=4)

    second = bank.post("/customers", raw=reordered, key="retry-3")

    assert second.status_code == 201 and second["Idempotent-Replayed"] == "true"


def test_the_same_key_with_a_different_body_is_422_and_changes_nothing(bank):
    bank.post("/customers", CUSTOMER, key="reused")

    response = bank.post("/customers", {**CUSTOMER, "reference": "CIF-OTHER"}, key="reused")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert not Customer.objects.filter(reference="CIF-OTHER").exists()


def test_the_same_key_on_another_endpoint_is_422(bank):
    customer_factory(reference="CIF-OWNER")
    bank.post("/customers", CUSTOMER, key="reused-2")

    response = bank.post("/accounts", {"reference": "ACC-X", "customer": "CIF-OWNER", "kind": "debit"}, key="reused-2")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


def test_keys_belong_to_one_api_key(bank, provisioning_key, db):
    from kartosfera.api.services import api_key_create
    from kartosfera.core.audit import Actor

    _other, token = api_key_create(
        actor=Actor.system("tests"), name="another system of the bank", scopes=["provisioning"], bank=bank.api_key.bank
    )
    bank.post("/customers", CUSTOMER, key="shared")

    response = ApiClient(token=token).post("/customers", CUSTOMER, key="shared")

    # Not a replay of somebody else's answer: a fresh create, which finds the customer exists.
    assert response.status_code == 409


def test_a_refused_create_is_not_remembered_so_a_corrected_retry_may_reuse_the_key(bank):
    wrong = {**CUSTOMER, "residency": "resident", "pesel": "85031412345"}
    assert bank.post("/customers", wrong, key="fix-me").status_code == 422
    assert not IdempotencyRecord.objects.filter(key="fix-me").exists()

    response = bank.post("/customers", CUSTOMER, key="fix-me")

    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert IdempotencyRecord.objects.filter(key="fix-me").count() == 1


def test_a_conflict_is_not_stored_either(bank):
    customer_factory(reference="CIF-IDEM")

    assert bank.post("/customers", CUSTOMER, key="conflict").status_code == 409
    assert not IdempotencyRecord.objects.filter(key="conflict").exists()


def test_every_create_is_replayed_without_a_second_object(bank):
    owner = customer_factory(reference="CIF-OWNER")
    product = product_factory(code="VISA-IDEM")
    account = account_factory(customer=owner, reference="ACC-IDEM")
    card_factory(customer=owner, product=product, account=account, reference="CARD-OLD-1")
    card_factory(customer=owner, product=product, account=account, reference="CARD-OLD-2")
    creates = [
        ("/accounts", {"reference": "ACC-NEW", "customer": "CIF-OWNER", "kind": "debit"}),
        (
            "/card-products",
            {
                "code": "P-NEW",
                "name": "P",
                "brand": "visa",
                "funding": "debit",
                "segment": "individual",
                "cash_limit_max_minor": 10,
                "noncash_limit_max_minor": 10,
                "internet_limit_max_minor": 10,
                "cash_limit_default_minor": 1,
                "noncash_limit_default_minor": 1,
            },
        ),
        (
            "/cards",
            {
                "reference": "CARD-NEW",
                "product": "VISA-IDEM",
                "account": "ACC-IDEM",
                "customer": "CIF-OWNER",
                "pan": make_pan("400000", 880_001),
                "embossed_name": "X",
            },
        ),
        ("/cards/CARD-OLD-1/renew", {"reference": "CARD-RENEWAL"}),
        ("/cards/CARD-OLD-2/replace", {"reference": "CARD-REPL", "pan": make_pan("400000", 880_002)}),
    ]
    for path, body in creates:
        first = bank.post(path, body, key=f"replay{path}")
        audit_count = AuditEvent.objects.count()
        second = bank.post(path, body, key=f"replay{path}")
        assert first.status_code == second.status_code == 201, (path, first.json())
        assert second.content == first.content, path
        assert AuditEvent.objects.count() == audit_count, path
    assert Card.objects.count() == 5
    assert CardProduct.objects.filter(code="P-NEW").count() == 1


def test_the_fingerprint_is_keyed_so_it_reveals_nothing_of_a_card_number(bank):
    owner = customer_factory(reference="CIF-OWNER")
    product_factory(code="VISA-IDEM")
    account_factory(customer=owner, reference="ACC-IDEM")
    pan = make_pan("400000", 880_003)
    body = {
        "reference": "CARD-FP",
        "product": "VISA-IDEM",
        "account": "ACC-IDEM",
        "customer": "CIF-OWNER",
        "pan": pan,
        "embossed_name": "X",
    }
    assert bank.post("/cards", body, key="fp").status_code == 201
    record = IdempotencyRecord.objects.get(key="fp")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))

    assert pan not in record.response_body and pan not in record.fingerprint
    for text in (canonical, f"POST\n/api/provisioning/v1/cards\n{canonical}"):
        assert record.fingerprint != hashlib.sha256(text.encode()).hexdigest()
    # It depends on the server's secret: with another SECRET_KEY the same request no longer matches.
    with override_settings(SECRET_KEY="another-secret-" + "y" * 40):
        assert bank.post("/cards", body, key="fp").json()["code"] == "idempotency_key_reused"


def test_a_wrong_body_without_a_key_is_the_schemas_422_listing_both(bank):
    response = bank.post("/customers", {**CUSTOMER, "residency": "martian"}, key=None, **{"Accept-Language": "en"})

    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert {"residency", "Idempotency-Key"} <= set(errors_by_field(response))
    assert not Customer.objects.exists()
