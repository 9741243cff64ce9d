"""POST /api/processor/v1/authorizations: auth, the answer, bad input (never a 500), retries, no card number leaks."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.cards.models import Brand
from kartosfera.cards.operations_services import card_contactless_set
from kartosfera.cards.pinblock import pin_block_encipher
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.processing.models import Authorization
from kartosfera.processing.tests.helpers import PIN, CardFixture, active_card

pytestmark = pytest.mark.django_db
URL = "/api/processor/v1/authorizations"
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")
_ids = iter(range(1, 10**6))


def _client(*scopes: str) -> Client:
    _key, token = api_key_create(actor=Actor.system("tests"), name="card processor", scopes=list(scopes))
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def processor() -> Client:
    return _client(ApiScope.PROCESSOR)


def body(tc: CardFixture, **overrides: Any) -> dict[str, Any]:
    n = next(_ids)
    values: dict[str, Any] = {
        "id": f"api-auth-{n:06d}",
        "network_transaction_id": f"NTX-{n:09d}",
        "card": {"pan": tc.pan, "expiry": f"{tc.card.expiry:%Y-%m}"},
        "amount_minor": 4_250,
        "currency": "PLN",
        "merchant": {"name": "Żabka Z1234", "city": "Kraków", "country": "PL", "mcc": "5411", "id": "MID1"},
        "channel": "pos_contactless",
    }
    values.update(overrides)
    return values


def post(client: Client, data: Any, *, raw: str | None = None):
    return client.post(URL, raw if raw is not None else json.dumps(data), content_type="application/json")


def test_an_approval(processor):
    tc = active_card()
    response = post(processor, body(tc))
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["approved"] is True and answer["response_code"] == "00"
    assert answer["approved_amount_minor"] == 4_250 and answer["currency"] == "PLN"
    assert len(answer["authorization_code"]) == 6
    assert answer["decline_reason"] is None and answer["decline_message"] is None
    assert tc.account.held_minor == 4_250
    event = AuditEvent.objects.get(action="processing.authorization.approved")
    assert event.actor_type == ActorType.API_CLIENT


@pytest.mark.parametrize(("brand", "code", "advice"), [(Brand.VISA, "9G", None), (Brand.MASTERCARD, "57", "02")])
def test_a_decline_says_why_in_polish_and_english(processor, brand, code, advice):
    tc = active_card(brand=brand)
    card_contactless_set(actor=HOLDER, card=tc.card, enabled=False)
    answer = post(processor, body(tc)).json()
    assert (answer["approved"], answer["response_code"], answer["decline_reason"]) == (
        False,
        code,
        "contactless_disabled",
    )
    assert answer["decline_message"] == {
        "pl": "Płatności zbliżeniowe tą kartą są wyłączone.",
        "en": "Contactless payments are switched off for this card.",
    }
    assert answer["merchant_advice_code"] == advice
    assert answer["authorization_code"] is None and answer["approved_amount_minor"] == 0


def test_a_pin_block_that_cannot_be_opened_is_declined_as_unverifiable_and_not_counted(processor):
    tc = active_card()
    answer = post(processor, body(tc, channel="pos_chip", pin_block="0" * 32)).json()
    assert (answer["approved"], answer["decline_reason"], answer["response_code"]) == (False, "pin_unverifiable", "96")
    tc.refresh()
    assert tc.card.wrong_pin_count == 0


def test_the_pin_in_the_pin_block_is_verified_against_the_card(processor):
    tc = active_card()
    pan = tc.pan
    right = pin_block_encipher(pin=PIN, pan=pan).hex().upper()
    wrong = pin_block_encipher(pin="1357", pan=pan).hex().upper()

    declined = post(processor, body(tc, id="pin-wrong", channel="atm", pin_block=wrong)).json()
    assert (declined["approved"], declined["decline_reason"], declined["response_code"]) == (False, "pin_wrong", "55")
    assert tc.refresh().wrong_pin_count == 1
    approved = post(processor, body(tc, id="pin-right", channel="atm", pin_block=right)).json()
    assert approved["approved"] is True
    assert tc.refresh().wrong_pin_count == 0


def test_no_key_is_401_and_a_wrong_scope_is_403(db):
    tc = active_card()
    anonymous = Client().post(URL, json.dumps(body(tc)), content_type="application/json")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    wrong = post(_client(ApiScope.PROVISIONING), body(tc))
    assert wrong.status_code == 403 and wrong.json()["code"] == "insufficient_scope"
    assert not Authorization.objects.exists()


def test_a_retry_gets_the_same_answer_and_another_body_is_409(processor):
    tc = active_card()
    data = body(tc, amount_minor=7_000)
    first = post(processor, data)
    again = post(processor, data)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    conflict = post(processor, {**data, "amount_minor": 7_001})
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "authorization_id_conflict"
    assert tc.account.held_minor == 7_000 and Authorization.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": "12"}, "amount_minor"),
        ({"amount_minor": 10**16}, "amount_minor"),
        ({"currency": "zł"}, "currency"),
        ({"channel": "telepathy"}, "channel"),
        ({"card": {"pan": "4000 0000", "expiry": "2029-08"}}, "card.pan"),
        ({"card": {"pan": "4000000000000002", "expiry": "08/29"}}, "card.expiry"),
        ({"id": "has spaces"}, "id"),
        ({"pin_block": "1234"}, "pin_block"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_input_is_422_in_the_apis_error_format(processor, change, field):
    tc = active_card()
    response = post(processor, body(tc, **change))
    assert response.status_code == 422
    answer = response.json()
    assert answer["code"] == "validation_failed"
    assert field in {error["field"] for error in answer["errors"]}
    assert not Authorization.objects.exists()


def test_a_converted_payment_without_its_billing_amount_is_422(processor):
    tc = active_card()
    response = post(processor, body(tc, currency="EUR"))
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"billing_amount"}
    # By chip: a 42.50 EUR tap at a Polish terminal would be past the 100 PLN without a PIN.
    converted = post(
        processor,
        body(tc, currency="EUR", billing_amount_minor=18_250, billing_rate="4.294117647", channel="pos_chip"),
    )
    assert converted.json()["approved"] is True
    assert tc.account.held_minor == 18_250


def test_a_body_that_is_not_json_is_400(processor):
    response = post(processor, None, raw="{not json")
    assert response.status_code == 400 and response.json()["code"] == "malformed_json"


FIELDS = [
    "id",
    "network_transaction_id",
    "card",
    "merchant",
    "amount_minor",
    "currency",
    "channel",
    "pin_block",
    "three_ds",
    "billing_amount_minor",
    "billing_currency",
    "billing_rate",
    "partial_approval_supported",
    "other",
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(junk=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=8), keep=st.booleans())
def test_junk_bodies_never_make_a_500(processor, junk, keep):
    tc = active_card() if keep else None
    data = {**body(tc), **junk} if tc is not None else junk
    response = post(processor, data)
    assert response.status_code in {200, 400, 409, 422}, response.content
    assert response["Content-Type"].startswith("application/json")


def test_the_card_number_reaches_no_log_audit_row_or_answer(processor, caplog):
    tc = active_card()
    caplog.set_level(logging.DEBUG)
    answers = [
        post(processor, body(tc)).content.decode(),
        post(processor, body(tc, amount_minor=0)).content.decode(),
        post(processor, body(tc, card={"pan": tc.pan[:-1] + "0", "expiry": "2029-01"})).content.decode(),
        post(processor, body(tc, channel="atm", pin_block="A" * 32)).content.decode(),
    ]
    for text in answers:
        assert tc.pan not in text
    assert tc.pan not in caplog.text
    for event in AuditEvent.objects.all():
        assert tc.pan not in json.dumps([event.before, event.after])
    for row in Authorization.objects.values():
        assert tc.pan not in json.dumps(row, default=str)
    assert set(Authorization.objects.values_list("pan_last4", flat=True)) == {tc.pan[-4:], tc.pan[-4:-1] + "0"}


def test_the_openapi_schema_is_served(processor):
    response = processor.get("/api/processor/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/processor/v1/authorizations" in schema["paths"]
    assert set(schema["paths"]["/api/processor/v1/authorizations"]["post"]["responses"]) >= {"200", "401", "409", "422"}
