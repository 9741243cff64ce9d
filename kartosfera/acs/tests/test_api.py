"""POST /api/acs/v2/areq: the key and its scope, schema checks with messages (never a 500), retries, no PAN."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kartosfera.acs.models import AuthenticationRecord
from kartosfera.acs.tests.helpers import areq_fields, with_threeds_pin
from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.processing.tests.helpers import active_card
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db
URL = "/api/acs/v2/areq"


def _client(*scopes: str, bank: Any = None) -> Client:
    _key, token = api_key_create(actor=Actor.system("tests"), name="directory server", scopes=list(scopes), bank=bank)
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def ds() -> Client:
    return _client(ApiScope.ACS)


def post(client: Client, data: Any, *, raw: str | None = None):
    return client.post(URL, raw if raw is not None else json.dumps(data), content_type="application/json")


def test_a_frictionless_answer(ds):
    tc = active_card()
    with_threeds_pin(tc)
    response = post(ds, areq_fields(tc, purchaseAmount="2500"))
    assert response.status_code == 200, response.content
    ares = response.json()
    assert ares["messageType"] == "ARes" and ares["transStatus"] == "Y" and ares["eci"] == "05"
    assert tc.pan not in response.content.decode()


def test_a_challenge_names_the_absolute_challenge_url(ds):
    tc = active_card()
    ares = post(ds, areq_fields(tc, purchaseAmount="90000")).json()
    assert ares["transStatus"] == "C" and ares["acsURL"] == "http://testserver/acs/challenge"


def test_a_retry_gets_the_same_answer_and_another_body_is_refused(ds):
    tc = active_card()
    with_threeds_pin(tc)
    fields = areq_fields(tc, purchaseAmount="2500")
    first = post(ds, fields)
    again = post(ds, fields)
    assert again.status_code == 200 and again.content == first.content
    assert AuthenticationRecord.objects.count() == 1
    other = post(ds, {**fields, "purchaseAmount": "2600"})
    assert other.status_code == 409 and other.json()["code"] == "trans_id_reused"


def test_no_key_a_key_without_the_acs_scope_and_a_banks_key_are_refused():
    tc = active_card()
    assert post(Client(), areq_fields(tc)).status_code == 401
    assert post(_client(ApiScope.PROCESSOR), areq_fields(tc)).status_code == 403
    bank_key = _client(ApiScope.PROVISIONING, bank=factories.bank_factory())
    assert post(bank_key, areq_fields(tc)).status_code == 403
    assert not AuthenticationRecord.objects.exists()


def test_a_bank_key_cannot_be_given_the_acs_scope():
    with pytest.raises(ValidationFailed):
        api_key_create(actor=Actor.system("tests"), name="bank", scopes=[ApiScope.ACS], bank=factories.bank_factory())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("threeDSServerTransID", "not-a-uuid"),
        ("acctNumber", "4000001234567890"),  # fails Luhn
        ("acctNumber", "40000012"),
        ("purchaseAmount", "12.50"),
        ("purchaseCurrency", "PLN"),
        ("purchaseExponent", "3"),  # PLN has 2
        ("purchaseDate", "20261340101500"),
        ("mcc", "59"),
        ("merchantCountryCode", "PL"),
        ("notificationURL", "http://merchant.example/notify"),
        ("deviceChannel", "09"),
        ("messageCategory", "05"),
        ("merchantName", ""),
        ("merchantName", "Sklep\x00"),
        ("acquirerMerchantID", "M\n1"),
        ("purchaseAmount", "9" * 30),
    ],
)
def test_bad_input_is_a_400_naming_the_field(ds, field, value):
    tc = active_card()
    response = post(ds, areq_fields(tc, **{field: value}))
    assert response.status_code in (400, 422), response.content
    body = response.json()
    assert any(error["field"] == field and error["message"] for error in body["errors"]), body
    assert tc.pan not in response.content.decode()
    assert not AuthenticationRecord.objects.exists()


@pytest.mark.parametrize("missing", ["threeDSServerTransID", "acctNumber", "purchaseAmount", "acquirerMerchantID"])
def test_a_required_field_missing_is_a_400(ds, missing):
    fields = areq_fields(active_card())
    del fields[missing]
    response = post(ds, fields)
    assert response.status_code in (400, 422)
    assert any(error["field"] == missing for error in response.json()["errors"])


@pytest.mark.parametrize("raw", ["", "{", "[]", "null", '"AReq"', '{"messageType": 5}'])
def test_malformed_bodies_are_4xx_never_500(ds, raw):
    response = post(ds, None, raw=raw)
    assert 400 <= response.status_code < 500


def test_no_card_number_in_records_or_audit_rows(ds):
    tc = active_card()
    with_threeds_pin(tc)
    post(ds, areq_fields(tc, purchaseAmount="2500"))
    post(ds, areq_fields(tc, purchaseAmount="90000"))
    for record in AuthenticationRecord.objects.all():
        assert tc.pan not in json.dumps(record.areq) + record.ares
    for event in AuditEvent.objects.all():
        assert tc.pan not in json.dumps(event.before) + json.dumps(event.after)


def test_the_openapi_schema_is_served(ds):
    schema = ds.get("/api/acs/v2/openapi.json")
    assert schema.status_code == 200
    assert "/api/acs/v2/areq" in schema.json()["paths"]


def test_no_card_number_in_the_logs(ds, caplog):
    tc = active_card()
    caplog.set_level(logging.DEBUG)
    post(ds, areq_fields(tc))
    post(ds, areq_fields(tc, acctNumber=tc.pan[:-1] + ("0" if tc.pan[-1] != "0" else "1")))  # fails Luhn
    assert tc.pan not in caplog.text


def test_the_reference_page_lists_the_endpoint(ds):
    page = ds.get("/api/acs/v2/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="post-areq"' in html and "Authenticate a payment (AReq" in html


def test_a_wrong_method_is_a_json_405(ds):
    response = ds.get(URL)
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
FIELDS = [*areq_fields(), "cardExpiryDate", "threeDSRequestorChallengeInd", "dsTransID", "browserLanguage"]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(junk=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=6))
def test_junk_fields_never_make_a_500(ds, junk):
    response = post(ds, {**areq_fields(pan="4000001234567899"), **junk})
    assert response.status_code in {200, 400, 409, 422}, response.content
    assert response["Content-Type"].startswith("application/json")
