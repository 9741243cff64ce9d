"""The billing rules as arithmetic (kartosfera/statements/billing.py): edges, and hypothesis for any sequence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kartosfera.statements import billing
from kartosfera.statements.billing import Movement

D = dt.date
RATES = [(D(2023, 10, 5), Decimal("5.75"))]


# --- statement dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "billing_day", "expected"),
    [
        (D(2026, 11, 10), 10, D(2026, 11, 10)),
        (D(2026, 11, 9), 10, D(2026, 10, 10)),
        (D(2026, 1, 5), 28, D(2025, 12, 28)),
        (D(2026, 3, 1), 1, D(2026, 3, 1)),
    ],
)
def test_the_last_statement_date_on_or_before_a_day(day, billing_day, expected):
    assert billing.statement_date_on_or_before(day, billing_day) == expected


@pytest.mark.parametrize(
    ("day", "billing_day", "expected"),
    [
        (D(2026, 11, 9), 10, D(2026, 11, 10)),
        (D(2026, 11, 10), 10, D(2026, 12, 10)),
        (D(2026, 12, 28), 28, D(2027, 1, 28)),
        (D(2026, 1, 31), 28, D(2026, 2, 28)),
    ],
)
def test_the_next_statement_date_after_a_day(day, billing_day, expected):
    assert billing.statement_date_after(day, billing_day) == expected


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31)), st.integers(1, 28))
def test_statement_dates_are_the_billing_day_and_one_month_apart(day, billing_day):
    before = billing.statement_date_on_or_before(day, billing_day)
    after = billing.statement_date_after(day, billing_day)
    assert before.day == after.day == billing_day
    assert before <= day < after
    assert 28 <= (after - before).days <= 31


# --- the due date ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement_date", "grace", "expected"),
    [
        # 10 Oct 2026 + 25 days = 4 Nov, a Wednesday.
        (D(2026, 10, 10), 25, D(2026, 11, 4)),
        # 10 Nov + 25 = 5 Dec, a Saturday: Monday 7 Dec (art. 115 KC).
        (D(2026, 11, 10), 25, D(2026, 12, 7)),
        # 10 Dec + 14 = 24 Dec (Christmas Eve, a day off from 2025), 25, 26 (Sat), 27 (Sun): Monday 28 Dec.
        (D(2026, 12, 10), 14, D(2026, 12, 28)),
        # 10 Oct + 22 = 1 Nov (All Saints', a Sunday in 2026): Monday 2 Nov.
        (D(2026, 10, 10), 22, D(2026, 11, 2)),
        # Easter Monday 6 Apr 2026: Tuesday 7 Apr.
        (D(2026, 3, 10), 27, D(2026, 4, 7)),
        # No grace at all: the statement date itself, if a working day (Tuesday 10 Nov 2026).
        (D(2026, 11, 10), 0, D(2026, 11, 10)),
    ],
)
def test_the_due_date_moves_off_saturdays_sundays_and_polish_holidays(statement_date, grace, expected):
    assert billing.due_date(statement_date, grace) == expected


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31)), st.integers(0, 60))
def test_a_due_date_is_a_working_day_at_or_after_the_grace_period_and_within_a_week_of_it(day, grace):
    due = billing.due_date(day, grace)
    assert not billing.is_day_off(due)
    assert 0 <= (due - (day + dt.timedelta(days=grace))).days <= 6


# --- the minimum payment --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owed", "percent", "at_least", "expected"),
    [
        (0, "5", 5_000, 0),  # nothing owed, nothing to pay
        (-100, "5", 5_000, 0),  # an overpayment: nothing to pay
        (3_000, "5", 5_000, 3_000),  # the whole balance when lower than the minimum amount
        (100_000, "5", 5_000, 5_000),  # 5 % is exactly the minimum amount
        (100_010, "5", 5_000, 5_001),  # 50.005 rounds half up to 50.01
        (100_009, "5", 5_000, 5_000),  # 50.0045 rounds to 50.00
        (1_000_000, "100", 0, 1_000_000),  # the whole balance
        (1, "0.01", 0, 0),  # a hundredth of a percent of 1 grosz rounds to nothing
    ],
)
def test_the_minimum_payment(owed, percent, at_least, expected):
    assert billing.minimum_payment(owed_minor=owed, percent=Decimal(percent), at_least_minor=at_least) == expected


@given(
    st.integers(-(10**15), 10**15),
    st.decimals(min_value="0.01", max_value="100", places=2),
    st.integers(0, 10**9),
)
def test_the_minimum_payment_is_never_more_than_what_is_owed_nor_less_than_its_rules(owed, percent, at_least):
    minimum = billing.minimum_payment(owed_minor=owed, percent=percent, at_least_minor=at_least)
    if owed <= 0:
        assert minimum == 0
        return
    assert 0 <= minimum <= owed
    assert minimum == owed or minimum >= at_least
    assert minimum >= min(owed, billing.percent_of(owed, percent))


# --- fees -----------------------------------------------------------------------------------------------


def test_a_cash_withdrawal_fee_is_its_percentage_with_a_minimum():
    assert billing.cash_withdrawal_fee(amount_minor=20_000, percent=Decimal("3"), at_least_minor=1_000) == 1_000
    assert billing.cash_withdrawal_fee(amount_minor=100_000, percent=Decimal("3"), at_least_minor=1_000) == 3_000
    assert billing.cash_withdrawal_fee(amount_minor=33_350, percent=Decimal("3"), at_least_minor=0) == 1_001


def test_a_conversion_fee_is_its_percentage_rounded_half_up():
    assert billing.conversion_fee(amount_minor=43_125, percent=Decimal("2")) == 863  # 862.5 -> 863
    assert billing.conversion_fee(amount_minor=43_125, percent=Decimal("0")) == 0


@pytest.mark.parametrize(
    ("channel", "mcc", "cash"),
    [("atm", "5999", True), ("pos_chip", "6011", True), ("pos_chip", "6010", True), ("ecommerce", "5411", False)],
)
def test_what_counts_as_a_cash_withdrawal(channel, mcc, cash):
    assert billing.is_cash_withdrawal(channel=channel, mcc=mcc) is cash


# --- balances and interest ------------------------------------------------------------------------------

movements = st.lists(
    st.builds(
        Movement,
        day=st.dates(min_value=D(2026, 9, 1), max_value=D(2026, 10, 10)),
        change_minor=st.integers(-(10**9), 10**9).filter(bool),
    ),
    max_size=60,
)


@given(st.integers(-(10**12), 10**12), movements)
def test_opening_minus_debits_plus_credits_is_the_closing_balance_for_any_sequence(opening, moves):
    balances = billing.daily_balances(opening_minor=opening, movements=moves, start=D(2026, 9, 11), end=D(2026, 10, 10))
    debits = sum(-m.change_minor for m in moves if m.change_minor < 0)
    credits = sum(m.change_minor for m in moves if m.change_minor > 0)
    assert len(balances) == 30
    assert balances[-1][1] == opening - debits + credits
    # Each day's balance is the opening plus what moved on or before that day (earlier days count from the start).
    for day, balance in balances:
        assert balance == opening + sum(m.change_minor for m in moves if max(m.day, D(2026, 9, 11)) <= day)


def test_interest_is_daily_on_what_is_owed_at_the_product_rate():
    # 1,000.00 owed for 30 days at 18.25 % a year on 365 days: 1000 x 0.1825 x 30 / 365 = 15.00.
    balances = [(D(2026, 9, 11) + dt.timedelta(days=n), -100_000) for n in range(30)]
    interest = billing.daily_interest(balances=balances, annual_rate_percent=Decimal("18.25"), reference_rates=RATES)
    assert interest.amount_minor == 1_500
    assert len(interest.days) == 30


def test_no_interest_on_days_with_nothing_owed():
    balances = [(D(2026, 9, 11), 0), (D(2026, 9, 12), 5_000), (D(2026, 9, 13), -36_500_000)]
    interest = billing.daily_interest(balances=balances, annual_rate_percent=Decimal("10"), reference_rates=RATES)
    # Only the last day: 365,000.00 x 10 % / 365 = 100.00.
    assert interest.amount_minor == 10_000
    assert [day.day for day in interest.days] == [D(2026, 9, 13)]


def test_a_leap_year_day_bears_a_366th_of_the_annual_rate():
    balances = [(D(2028, 2, 29), -36_600_000)]
    interest = billing.daily_interest(balances=balances, annual_rate_percent=Decimal("10"), reference_rates=RATES)
    assert interest.amount_minor == 10_000


def test_each_day_is_capped_at_the_legal_maximum_in_force_that_day():
    # The reference rate falls from 5.75 % to 4.00 % on 1 Oct: the maximum from 18.50 % to 15.00 %.
    rates = [(D(2023, 10, 5), Decimal("5.75")), (D(2026, 10, 1), Decimal("4.00"))]
    balances = [(D(2026, 9, 30), -36_500_000), (D(2026, 10, 1), -36_500_000)]
    interest = billing.daily_interest(balances=balances, annual_rate_percent=Decimal("18.50"), reference_rates=rates)
    assert [day.rate_percent for day in interest.days] == [Decimal("18.50"), Decimal("15.00")]
    # 365,000.00 x (18.5 % + 15 %) / 365 = 185.00 + 150.00.
    assert interest.amount_minor == 33_500


@given(
    st.lists(st.integers(-(10**10), 10**10), min_size=1, max_size=62),
    st.decimals(min_value="0", max_value="18.50", places=2),
)
def test_interest_is_never_negative_and_never_above_the_legal_maximum(daily, rate):
    balances = [(D(2026, 9, 1) + dt.timedelta(days=n), balance) for n, balance in enumerate(daily)]
    interest = billing.daily_interest(balances=balances, annual_rate_percent=rate, reference_rates=RATES)
    ceiling = sum(Decimal(max(0, -b)) * Decimal("18.50") / 100 / 365 for b in daily)
    assert 0 <= interest.amount_minor <= billing.round_minor(ceiling)
