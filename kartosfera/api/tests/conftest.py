"""The API's cast: the bank's provisioning key, a key of the group's systems, the processor's key, and a
client that speaks JSON."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from kartosfera.api.models import ApiKey, ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_activate
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.testing import factories
from kartosfera.testing.factories import bank_factory

BASE = "/api/provisioning/v1"
# The card of the documented story (docs/api.md: CARD-000555), named by the APIs' schema examples.
STORY_PAN = "4000000001234568"
STORY_EXPIRY = dt.date(2029, 8, 31)
_keys = itertools.count(1)


@dataclass
class ApiClient:
    """A Django test client with a bearer token; every POST gets a fresh Idempotency-Key unless given one."""

    token: str | None
    api_key: ApiKey | None = None
    # Sent as X-Bank-Code with every request (a group key names the bank it works in).
    bank_code: str | None = None
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if self.bank_code:
            headers["X-Bank-Code"] = self.bank_code
        self.client = Client(headers=headers)

    @staticmethod
    def new_key() -> str:
        return f"test-idem-{next(_keys):06d}"

    def get(self, path: str, **headers: str):
        return self.client.get(BASE + path, headers=headers)

    def post(self, path: str, body: Any = None, *, key: str | None = "auto", raw: bytes | str | None = None, **headers):
        if key == "auto":
            key = self.new_key()
        if key is not None:
            headers["Idempotency-Key"] = key
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        return self.client.post(BASE + path, data, content_type="application/json", headers=headers)

    def patch(self, path: str, body: Any = None, *, raw: bytes | str | None = None, **headers: str):
        data = raw if raw is not None else json.dumps(body)
        return self.client.patch(BASE + path, data, content_type="application/json", headers=headers)


@pytest.fixture
def provisioning_key(db) -> tuple[ApiKey, str]:
    """The bank's core-banking system: a key with the provisioning scope."""
    return api_key_create(
        actor=Actor.system("tests"), name="core banking", scopes=[ApiScope.PROVISIONING], bank=bank_factory()
    )


@pytest.fixture
def group_key(db) -> tuple[ApiKey, str]:
    """A key of the group's systems: no bank of its own, it names the bank of each request."""
    return api_key_create(actor=Actor.system("tests"), name="group core", scopes=[ApiScope.PROVISIONING])


@pytest.fixture
def group(group_key) -> ApiClient:
    """The group's systems, working in the tests' default bank (X-Bank-Code on every request)."""
    api_key, token = group_key
    return ApiClient(token=token, api_key=api_key, bank_code=bank_factory().code)


@pytest.fixture
def processor_key(db) -> tuple[ApiKey, str]:
    """The card processor's key: the processor scope only."""
    return api_key_create(actor=Actor.system("tests"), name="card processor", scopes=[ApiScope.PROCESSOR])


@pytest.fixture
def story_card(cardholder, debit_product) -> Card:
    """Anna's active debit card with the story's number and expiry (2029-08), which the schemas' examples name."""
    card = factories.card_factory(
        customer=cardholder.customer, product=debit_product, pan=STORY_PAN, expiry=STORY_EXPIRY
    )
    return card_activate(actor=Actor.system("tests"), card=card)


@pytest.fixture
def bank(provisioning_key) -> ApiClient:
    api_key, token = provisioning_key
    return ApiClient(token=token, api_key=api_key)


@pytest.fixture
def anonymous(db) -> ApiClient:
    return ApiClient(token=None)


def audit_rows(api_key: ApiKey, action: str) -> list[AuditEvent]:
    """The audit rows ``action`` left by requests made with ``api_key``, checked for who and where."""
    rows = list(AuditEvent.objects.filter(action=action, actor_type=ActorType.API_CLIENT, actor_id=api_key.prefix))
    for row in rows:
        assert row.actor_label == api_key.name
        assert row.request_id, "an API change is audited with the request id"
        assert row.ip == "127.0.0.1", "an API change is audited with the client address"
    return rows


def errors_by_field(response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"detail", "code", "errors"}, body
    return {error["field"]: error["message"] for error in body["errors"]}
