"""POST /conversion-rates and GET /conversion-rates/{from}/{to}: the group provisions the card core's rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kartosfera.api.tests.conftest import audit_rows, errors_by_field
from kartosfera.processing.models import ConversionRate

pytestmark = pytest.mark.django_db


def test_the_group_provisions_a_rate_and_reads_the_one_that_applies(group):
    response = group.post("/conversion-rates", {"from_currency": "EUR", "to_currency": "PLN", "rate": "4.2735"})
    assert response.status_code == 201, response.json()
    assert response.json()["rate"] == "4.2735"
    assert ConversionRate.objects.get().rate == Decimal("4.2735")
    [row] = audit_rows(group.api_key, "processing.conversion_rate.set")
    assert row.after["rate"] == "4.2735"
    tomorrow = (timezone.now() + dt.timedelta(days=1)).isoformat()
    later = group.post(
        "/conversion-rates", {"from_currency": "EUR", "to_currency": "PLN", "rate": "4.3", "valid_from": tomorrow}
    )
    assert later.status_code == 201
    current = group.get("/conversion-rates/EUR/PLN")
    assert current.status_code == 200 and current.json()["rate"] == "4.2735"  # tomorrow's does not apply yet
    assert group.get("/conversion-rates/USD/PLN").status_code == 404


def test_a_retry_with_the_same_key_gets_the_first_answer_and_one_row(group):
    body = {"from_currency": "USD", "to_currency": "PLN", "rate": "3.9", "valid_from": "2026-11-30T00:00:00+01:00"}
    first = group.post("/conversion-rates", body, key="rate-1")
    again = group.post("/conversion-rates", body, key="rate-1")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert ConversionRate.objects.count() == 1
    # The same currencies and moment under another key: a conflict, not a second row.
    other = group.post("/conversion-rates", body, key="rate-2")
    assert other.status_code == 409 and other.json()["code"] == "conversion_rate_exists"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rate": "0"}, "rate"),
        ({"rate": 4.27}, "rate"),  # a number: floats round, the rate is a decimal string
        ({"rate": "4,27"}, "rate"),
        ({"to_currency": "USD"}, "to_currency"),
        ({"from_currency": "PLN"}, "from_currency"),
        ({"from_currency": "eur"}, "from_currency"),
        ({"valid_from": "2026-11-30T00:00:00"}, "valid_from"),  # no offset
        ({"valid_from": 1764460800}, "valid_from"),
        ({"valid_from": "0307-12-20T19:21:36+23:40"}, "valid_from"),  # centuries off (schemathesis found a 500)
    ],
)
def test_a_bad_rate_is_422_and_writes_nothing(group, change, field):
    response = group.post("/conversion-rates", {"from_currency": "EUR", "to_currency": "PLN", "rate": "4.27", **change})
    assert response.status_code == 422, response.json()
    assert field in errors_by_field(response)
    assert ConversionRate.objects.count() == 0


def test_a_rate_needs_an_idempotency_key(group):
    response = group.post("/conversion-rates", {"from_currency": "EUR", "to_currency": "PLN", "rate": "4.27"}, key=None)
    assert response.status_code == 400


def test_an_offset_postgresql_cannot_store_is_kept_in_utc(group):
    # ISO 8601 allows offsets up to ±23:59, PostgreSQL stores up to ±15:59: the moment is kept in UTC.
    response = group.post(
        "/conversion-rates",
        {"from_currency": "EUR", "to_currency": "PLN", "rate": "4.27", "valid_from": "2026-11-30T23:40:00+23:40"},
    )
    assert response.status_code == 201, response.json()
    assert ConversionRate.objects.get().valid_from.isoformat() == "2026-11-30T00:00:00+00:00"


def test_a_moment_with_any_valid_offset_is_stored_in_utc_and_one_before_1900_is_refused(group):
    # ISO 8601 allows an offset PostgreSQL cannot take (+20:29): it is converted, never a 500.
    odd = group.post(
        "/conversion-rates",
        {"from_currency": "CZK", "to_currency": "PLN", "rate": "0.1687", "valid_from": "2026-01-27T00:34:22+20:29"},
    )
    ancient = group.post(
        "/conversion-rates",
        {"from_currency": "CZK", "to_currency": "PLN", "rate": "0.1687", "valid_from": "0150-01-27T00:34:22+01:00"},
    )

    assert odd.status_code == 201, odd.json()
    assert ConversionRate.objects.get().valid_from == dt.datetime(2026, 1, 26, 4, 5, 22, tzinfo=dt.UTC)
    assert ancient.status_code == 422
    assert "valid_from" in errors_by_field(ancient)
