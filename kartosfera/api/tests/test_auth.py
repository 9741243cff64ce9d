from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.test import Client

from kartosfera.api.models import ApiKey, ApiScope
from kartosfera.api.services import api_key_create, api_key_revoke
from kartosfera.api.tests.conftest import BASE, ApiClient
from kartosfera.core.audit import Actor
from kartosfera.customers.models import Customer
from kartosfera.testing.factories import bank_factory, customer_factory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
CREATE_BODY = {"reference": "CIF-AUTH", "residency": "non_resident", "first_name": "A", "last_name": "B"}


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response["WWW-Authenticate"].startswith('Bearer realm="kartosfera"')
    assert not Customer.objects.filter(reference="CIF-AUTH").exists()


def test_a_request_without_a_key_is_401_with_a_bearer_challenge(anonymous):
    customer_factory(reference="CIF-SECRET")

    response = anonymous.get("/customers/CIF-SECRET")

    assert_refused(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="kartosfera"'
    assert "CIF-SECRET" not in response.content.decode()


def test_a_create_without_a_key_is_401_and_creates_nothing(anonymous):
    assert_refused(anonymous.post("/customers", CREATE_BODY), 401, "not_authenticated")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer kfk_000000000000_" + "0" * 64,  # well formed, unknown
        "Bearer nonsense",
        "Bearer ",
        "Token kfk_000000000000_" + "0" * 64,  # another scheme
        "Basic dXNlcjpwYXNz",
    ],
)
def test_a_wrong_key_is_401(db, authorization):
    response = Client().get(BASE + "/customers/ANY", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_right_prefix_with_a_wrong_secret_is_401(provisioning_key):
    _api_key, token = provisioning_key
    forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")

    response = ApiClient(token=forged).post("/customers", CREATE_BODY)

    assert_refused(response, 401, "not_authenticated")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_revoked_key_is_401_at_once(bank):
    assert bank.get("/customers/ANY").status_code == 404
    api_key_revoke(actor=SYSTEM, api_key=bank.api_key)

    response = bank.post("/customers", CREATE_BODY)

    assert_refused(response, 401, "not_authenticated")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_key_without_the_provisioning_scope_is_403(processor_key):
    api_key, token = processor_key

    response = ApiClient(token=token, api_key=api_key).post("/customers", CREATE_BODY)

    assert_refused(response, 403, "insufficient_scope")
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert 'scope="provisioning"' in response["WWW-Authenticate"]


def test_a_key_with_both_scopes_may_provision(db):
    _api_key, token = api_key_create(actor=SYSTEM, name="both", scopes=[ApiScope.PROVISIONING, ApiScope.PROCESSOR])

    assert ApiClient(token=token, bank_code=bank_factory().code).post("/customers", CREATE_BODY).status_code == 201


def test_every_endpoint_requires_a_key(anonymous):
    paths = [
        ("post", "/customers"),
        ("get", "/customers/X"),
        ("patch", "/customers/X"),
        ("post", "/accounts"),
        ("get", "/accounts/X"),
        ("patch", "/accounts/X"),
        ("post", "/card-products"),
        ("get", "/card-products/X"),
        ("patch", "/card-products/X"),
        ("post", "/cards"),
        ("get", "/cards/X"),
        ("post", "/cards/X/renew"),
        ("post", "/cards/X/replace"),
    ]
    for method, path in paths:
        client = anonymous.client
        response = (
            client.get(BASE + path)
            if method == "get"
            else getattr(client, method)(BASE + path, "{}", content_type="application/json")
        )
        assert response.status_code == 401, (method, path)


def test_the_token_is_not_stored_only_a_hash_of_its_secret(provisioning_key):
    api_key, token = provisioning_key
    row = ApiKey.objects.values().get(pk=api_key.pk)

    assert token.startswith(f"kfk_{api_key.prefix}_")
    secret = token.rsplit("_", 1)[1]
    assert all(secret not in str(value) for value in row.values())
    assert len(row["secret_hash"]) == 64


def test_last_used_is_recorded_at_most_once_a_minute(bank):
    with time_machine.travel(dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        bank.get("/customers/X")
    bank.api_key.refresh_from_db()
    assert bank.api_key.last_used_at == dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.UTC)

    with time_machine.travel(dt.datetime(2030, 5, 1, 12, 0, 30, tzinfo=dt.UTC), tick=False):
        bank.get("/customers/X")
    bank.api_key.refresh_from_db()
    assert bank.api_key.last_used_at == dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.UTC)

    with time_machine.travel(dt.datetime(2030, 5, 1, 12, 2, tzinfo=dt.UTC), tick=False):
        bank.get("/customers/X")
    bank.api_key.refresh_from_db()
    assert bank.api_key.last_used_at == dt.datetime(2030, 5, 1, 12, 2, tzinfo=dt.UTC)


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    "authorization",
    [
        "Token kfk_0123456789ab_" + "c0ffee" * 10 + "beef",
        "Basic a2ZrXzAxMjM0NTY3ODlhYjpzM2NyM3Q=",
        "kfk_0123456789ab_" + "c0ffee" * 10 + "beef",  # no scheme at all
        "Bearer kfk_0123456789ab_" + "c0ffee" * 10 + "beef",  # well formed, unknown
    ],
)
def test_an_authorization_header_is_never_logged_in_any_mode(db, settings, caplog, debug, authorization):
    settings.DEBUG = debug
    caplog.set_level(logging.DEBUG)

    response = Client().get(BASE + "/customers/ANY", headers={"Authorization": authorization})

    assert response.status_code == 401
    credential = authorization.split(" ")[-1]
    logged = "\n".join(f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records)
    assert credential not in logged
    assert credential[:24] not in logged, "not even a part of the credential"
