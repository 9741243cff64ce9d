"""Whatever a client sends, the answer is a 4xx in the one error format, never a 500."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kartosfera.api.tests.conftest import BASE, errors_by_field
from kartosfera.customers.models import Customer

pytestmark = pytest.mark.django_db

CUSTOMER_FIELDS = ["reference", "residency", "first_name", "last_name", "pesel", "nonresident_id", "birth_date"]
VALID = {"reference": "CIF-M", "residency": "non_resident", "first_name": "A", "last_name": "B"}


def customer_json(**fields: object) -> str:
    """A customer body as JSON text; json.dumps escapes NUL and lone surrogates as a client would."""
    return json.dumps({**VALID, **fields})


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("", 422, "validation_failed"),  # no body at all
        ("{", 400, "malformed_json"),
        ("{'reference': 'x'}", 400, "malformed_json"),  # Python, not JSON
        ("not json", 400, "malformed_json"),
        ('{"reference": "x",}', 400, "malformed_json"),
        ("[" * 100_000, 400, "malformed_json"),  # deeper than the parser's recursion limit
        (b"\xff\xfe\x00", 400, "malformed_json"),
        ("null", 422, "validation_failed"),
        ("[]", 422, "validation_failed"),
        ('"a string"', 422, "validation_failed"),
        ("42", 422, "validation_failed"),
        ("{}", 422, "validation_failed"),
        ('{"reference": null}', 422, "validation_failed"),
        (customer_json(reference=["CIF"]), 422, "validation_failed"),
        (customer_json(reference="CIF\x00"), 422, "validation_failed"),  # PostgreSQL cannot store NUL
        (customer_json(first_name="\x00"), 422, "validation_failed"),
        (customer_json(first_name="\ud800"), 422, "validation_failed"),  # a lone surrogate
        (customer_json(first_name={"a": 1}), 422, "validation_failed"),
        (customer_json(residency=1), 422, "validation_failed"),
        (customer_json(residency="martian"), 422, "validation_failed"),
        (customer_json(residency="resident", pesel=85031400717), 422, "validation_failed"),
        (customer_json(residency="resident", pesel="\u0661\u0662"), 422, "validation_failed"),  # Arabic digits
        (customer_json(birth_date="31.12.1999"), 422, "validation_failed"),
        (customer_json(birth_date="1999-02-30"), 422, "validation_failed"),
        (customer_json(nonresident_id="N" * 21), 422, "validation_failed"),
        (customer_json(reference="C" * 65), 422, "validation_failed"),
        (customer_json(first_name="A" * 101), 422, "validation_failed"),
        (customer_json(is_staff=True), 422, "validation_failed"),
    ],
)
def test_malformed_customer_bodies_get_a_4xx_in_the_error_format(bank, raw, status, code):
    response = bank.post("/customers", raw=raw)

    assert response.status_code == status, response.content[:500]
    assert response.json()["code"] == code
    errors_by_field(response)  # the one error format
    assert not Customer.objects.exists()


def test_a_schema_error_names_each_field_and_never_echoes_the_input(bank):
    response = bank.post(
        "/customers",
        {"reference": "bad ref!", "residency": "martian", "first_name": "A" * 101, "pesel": 12, "bogus": "SECRET-ECHO"},
        **{"Accept-Language": "en"},
    )

    errors = errors_by_field(response)
    assert set(errors) == {"reference", "residency", "first_name", "last_name", "pesel", "bogus"}
    assert errors["last_name"] == "This field is required."
    assert errors["bogus"] == "This field is not allowed here."
    assert errors["first_name"] == "Ensure this value has at most 100 characters."
    assert "SECRET-ECHO" not in response.content.decode()


def test_a_non_json_content_type_is_still_parsed_as_json_or_refused(bank):
    response = bank.client.post(
        BASE + "/customers",
        "reference=x",
        content_type="application/x-www-form-urlencoded",
        headers={"Idempotency-Key": "k"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_a_body_over_the_size_limit_is_413(bank, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = bank.post("/customers", {**VALID, "first_name": "A" * 2000})

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


@pytest.mark.parametrize(
    "path",
    [
        "/customers/%00",
        "/customers/" + "x" * 500,
        "/accounts/%00",
        "/cards/%00",
        "/card-products/%00",
        "/cards/%00/renew",
    ],
)
def test_path_values_no_object_could_have_are_404_not_a_database_error(bank, path):
    response = bank.post(path, {"reference": "R"}) if path.endswith("renew") else bank.get(path)

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/customers/CIF-1"),
        ("put", "/customers/CIF-1"),
        ("get", "/customers"),
        ("delete", "/accounts/ACC-1"),
        ("get", "/accounts"),
        ("put", "/card-products/P"),
        ("delete", "/cards/CARD-1"),
        ("patch", "/cards/CARD-1"),
        ("get", "/cards/CARD-1/renew"),
        ("put", "/cards/CARD-1/replace"),
    ],
)
def test_a_wrong_method_is_405_with_allow(bank, method, path):
    response = getattr(bank.client, method)(BASE + path)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"]
    assert method.upper() not in response["Allow"]


def test_an_unknown_url_under_the_api_is_a_json_404(bank):
    response = bank.get("/no-such-endpoint")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_api_root_names_the_schema_and_the_docs(anonymous):
    body = anonymous.client.get(BASE + "/").json()

    assert body["openapi"] == BASE + "/openapi.json"
    assert body["docs"] == BASE + "/docs"


# --- Generated junk ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
field_values = (
    json_values
    | st.text(max_size=120)
    | st.sampled_from(["resident", "non_resident", "85031400717", "1985-03-14", "+48600100200", "CIF-1", ""])
    | st.integers(min_value=-(2**80), max_value=2**80)
)
customer_bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from([*CUSTOMER_FIELDS, "phone_on_file", "bogus"]), field_values, max_size=9),
    st.fixed_dictionaries(
        {
            "reference": st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True),
            "residency": st.sampled_from(["resident", "non_resident"]),
        },
        optional=dict.fromkeys([*CUSTOMER_FIELDS[2:], "phone_on_file"], field_values),
    ),
)
_junk_keys = itertools.count(1)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=customer_bodies)
def test_generated_junk_customer_bodies_never_cause_a_server_error(bank, body):
    response = bank.post("/customers", body, key=f"junk-{next(_junk_keys)}")

    assert response.status_code < 500, (body, response.content[:300])
    if response.status_code >= 400:
        errors_by_field(response)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.binary(max_size=200))
def test_generated_junk_bytes_never_cause_a_server_error(bank, raw):
    response = bank.post("/customers", raw=raw, key=f"junk-{next(_junk_keys)}")

    assert 400 <= response.status_code < 500
