"""POST /reference-rates and GET /reference-rates/{currency}: the group provisions the ECB's rates (CBPR2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kartosfera.api.tests.conftest import audit_rows, errors_by_field
from kartosfera.processing.models import EcbReferenceRate

pytestmark = pytest.mark.django_db


def yesterday() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)


def test_the_bank_provisions_a_days_ecb_rates_and_reads_the_latest(group):
    response = group.post(
        "/reference-rates", {"date": yesterday().isoformat(), "rates": {"PLN": "4.2350", "CZK": "25.105"}}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["date"] == yesterday().isoformat()
    assert {(r["currency"], r["rate"]) for r in body["rates"]} == {("PLN", "4.235"), ("CZK", "25.105")}
    assert EcbReferenceRate.objects.get(currency="CZK").rate == Decimal("25.105")
    [row] = audit_rows(group.api_key, "processing.ecb_rates.set")
    assert row.after["rates"] == {"CZK": "25.105", "PLN": "4.2350"}
    # Published at 16:00 in Frankfurt on its date: available now.
    latest = group.get("/reference-rates/PLN")
    assert latest.status_code == 200 and latest.json()["rate"] == "4.235"
    assert group.get("/reference-rates/HUF").status_code == 404
    assert group.get("/reference-rates/pln").status_code in {404, 422}


def test_todays_rates_sent_with_an_earlier_availability_apply_at_once(group):
    moment = timezone.now() - dt.timedelta(minutes=5)
    response = group.post(
        "/reference-rates",
        {"date": timezone.localdate().isoformat(), "rates": {"PLN": "4.2400"}, "available_from": moment.isoformat()},
    )

    assert response.status_code == 201, response.json()
    assert group.get("/reference-rates/PLN").json()["rate"] == "4.24"


def test_a_day_provisioned_twice_is_a_conflict_and_a_retry_with_its_key_replays(group):
    body = {"date": yesterday().isoformat(), "rates": {"PLN": "4.2350"}}
    first = group.post("/reference-rates", body, key="ecb-1")
    retry = group.post("/reference-rates", body, key="ecb-1")
    again = group.post("/reference-rates", {"date": yesterday().isoformat(), "rates": {"PLN": "4.2351", "SEK": "11.2"}})

    assert (first.status_code, retry.status_code) == (201, 201) and retry.content == first.content
    assert again.status_code == 409 and again.json()["code"] == "ecb_rates_exist"
    assert EcbReferenceRate.objects.count() == 1  # all or none: SEK was not stored either


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rates": {"EUR": "1"}}, "rates.EUR"),
        ({"rates": {"PLN": "0"}}, "rates.PLN"),
        ({"rates": {"PLN": "4,2350"}}, "rates.PLN"),
        ({"rates": {"PLN": 4.235}}, "rates.PLN"),
        ({"rates": {}}, "rates"),
        ({"rates": {"PLN": "4.2350"}, "date": "2999-01-01"}, "date"),
        ({"rates": {"PLN": "4.2350"}, "date": "1998-12-31"}, "date"),
        ({"rates": {"PLN": "4.2350"}, "date": 0}, "date"),
        ({"rates": {"PLN": "4.2350"}, "available_from": "2026-11-27T16:00:00"}, "available_from"),
    ],
)
def test_bad_rates_are_refused_with_the_field_named_and_nothing_stored(group, body, field):
    response = group.post("/reference-rates", {"date": yesterday().isoformat(), **body})

    assert response.status_code == 422, response.json()
    assert any(name.startswith(field) for name in errors_by_field(response)), response.json()
    assert not EcbReferenceRate.objects.exists()


def test_reference_rates_need_a_provisioning_key(anonymous):
    assert (
        anonymous.post("/reference-rates", {"date": yesterday().isoformat(), "rates": {"PLN": "4"}}).status_code == 401
    )
    assert anonymous.get("/reference-rates/PLN").status_code == 401
