"""The bank's conversion rates: which applies, how amounts round, and their use by authorizations and clearing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kartosfera.core.errors import ValidationFailed
from kartosfera.processing.clearing import RecordOutcome, clearing_post_record
from kartosfera.processing.conversion import conversion_rate_at, conversion_rate_set, convert_minor
from kartosfera.processing.services import authorization_decide
from kartosfera.processing.tests.helpers import PROCESSOR, active_card, decide, request_for
from kartosfera.processing.tests.test_clearing import record

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def rate(value: str, *, valid_from: dt.datetime = T0, pair: tuple[str, str] = ("EUR", "PLN")):
    return conversion_rate_set(
        actor=PROCESSOR, from_currency=pair[0], to_currency=pair[1], rate=Decimal(value), valid_from=valid_from
    )


def test_the_latest_rate_whose_time_has_come_applies():
    rate("4.25", valid_from=T0 - dt.timedelta(days=1))
    today = rate("4.27")
    rate("4.30", valid_from=T0 + dt.timedelta(days=1))
    assert conversion_rate_at("EUR", "PLN", at=T0 + dt.timedelta(hours=3)) == today
    assert conversion_rate_at("EUR", "PLN", at=T0 - dt.timedelta(days=2)) is None
    assert conversion_rate_at("PLN", "EUR", at=T0) is None  # a pair has a direction


@pytest.mark.parametrize(
    ("amount", "currency", "rate_text", "expected"),
    [
        (1_000, "EUR", "4.2735", 4_274),  # 42.735 -> 42.74: half up
        (1_001, "EUR", "4.2735", 4_278),  # 42.7777... -> 42.78
        (100, "EUR", "4.2745", 427),  # 4.2745 -> 4.27 (below half)
        (200, "EUR", "4.2725", 855),  # 8.545 exactly -> 8.55
        (1_000, "JPY", "0.0265", 2_650),  # 1000 yen (no minor unit) = 26.50
        (1_000, "KWD", "13.1", 1_310),  # 1.000 dinar (3 places) = 13.10
    ],
)
def test_amounts_convert_to_the_minor_unit_rounding_half_up(amount, currency, rate_text, expected):
    assert convert_minor(amount, from_currency=currency, to_currency="PLN", rate=Decimal(rate_text)) == expected


def test_an_authorization_without_a_billing_amount_is_converted_at_the_banks_rate():
    tc = active_card()
    rate("4.2735", valid_from=timezone.now() - dt.timedelta(hours=1))
    authorization = decide(tc, amount_minor=1_000, currency="EUR").authorization
    assert authorization.approved
    assert (authorization.billing_amount_minor, authorization.billing_currency) == (4_274, "PLN")
    assert authorization.billing_rate == Decimal("4.2735")
    assert tc.account.held_minor == 4_274


def test_the_schemes_billing_amount_wins_over_the_banks_rate():
    tc = active_card()
    rate("4.2735", valid_from=timezone.now() - dt.timedelta(hours=1))
    authorization = decide(tc, amount_minor=1_000, currency="EUR", billing_amount_minor=4_300).authorization
    assert authorization.billing_amount_minor == 4_300


def test_without_a_rate_a_converted_authorization_is_still_refused():
    tc = active_card()
    with pytest.raises(ValidationFailed) as error:
        authorization_decide(actor=PROCESSOR, request=request_for(tc, currency="USD"))
    assert set(error.value.field_errors) == {"billing_amount"}


def test_a_conversion_beyond_the_largest_amount_is_refused_not_stored():
    tc = active_card()
    rate("1000", valid_from=timezone.now() - dt.timedelta(hours=1), pair=("USD", "PLN"))
    with pytest.raises(ValidationFailed):
        authorization_decide(actor=PROCESSOR, request=request_for(tc, currency="USD", amount_minor=10**13))


def test_a_clearing_without_a_billing_amount_is_converted_at_the_banks_rate():
    tc = active_card()
    rate("4.2735", valid_from=timezone.now() - dt.timedelta(hours=1))
    result = clearing_post_record(
        actor=PROCESSOR, record=record(pan=tc.pan, expiry=tc.card.expiry, currency="EUR", amount_minor=2_000)
    )
    assert result.outcome == RecordOutcome.POSTED
    assert (result.posting.billing_amount_minor, result.posting.billing_rate) == (8_547, Decimal("4.2735"))
    assert tc.account.balance_minor == 1_000_000 - 8_547


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"rate": Decimal("0")}, "rate"),
        ({"rate": Decimal("1.0000000001")}, "rate"),
        ({"rate": Decimal("1000000000")}, "rate"),
        ({"to_currency": "USD"}, "to_currency"),
        ({"from_currency": "PLN"}, "from_currency"),
    ],
)
def test_the_service_refuses_a_bad_rate(values, field):
    arguments = {"from_currency": "EUR", "to_currency": "PLN", "rate": Decimal("4.27"), **values}
    with pytest.raises(ValidationFailed) as error:
        conversion_rate_set(actor=PROCESSOR, **arguments)
    assert field in error.value.field_errors
