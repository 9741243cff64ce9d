"""The billing rules of a credit account, as pure functions (docs/statements.md, "Billing rules").

Everything here is arithmetic on integers (minor units) and ``Decimal`` percentages: no database,
no clock. The statement close (statements/close.py) gathers the figures and calls these; the tests
check them at their edges and, with hypothesis, for any sequence of movements.

Rounding: each charge (a fee, the period's interest, the minimum payment) is computed exactly and
rounded once, half up, to the minor unit [ours: the way a person rounds a sum on paper; no statute
sets it].
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

import holidays

from kartosfera.cards.credit_terms import legal_max_for, reference_rate_on

HUNDRED = Decimal(100)
ONE = Decimal(1)
# Cash at an ATM or over a bank's counter: the merchant categories of a cash withdrawal (ISO 18245).
CASH_MCCS = frozenset({"6010", "6011"})


def round_minor(value: Decimal) -> int:
    """A computed amount, rounded half up to the minor unit."""
    return int(value.quantize(ONE, rounding=ROUND_HALF_UP))


def percent_of(amount_minor: int, percent: Decimal) -> int:
    return round_minor(Decimal(amount_minor) * percent / HUNDRED)


# --- the statement date ----------------------------------------------------------------------------------


def statement_date_on_or_before(day: dt.date, billing_day: int) -> dt.date:
    """The last statement date of an account with this billing day (1-28) on or before ``day``."""
    if day.day >= billing_day:
        return day.replace(day=billing_day)
    previous_month_end = day.replace(day=1) - dt.timedelta(days=1)
    return previous_month_end.replace(day=billing_day)


def statement_date_after(day: dt.date, billing_day: int) -> dt.date:
    """The first statement date of an account with this billing day strictly after ``day``."""
    if day.day < billing_day:
        return day.replace(day=billing_day)
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    next_month_start = day.replace(day=1) + dt.timedelta(days=days_in_month)
    return next_month_start.replace(day=billing_day)


# --- the due date ----------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _polish_holidays(year: int) -> frozenset[dt.date]:
    # The statutory days off (ustawa z 18 stycznia 1951 o dniach wolnych od pracy), Christmas Eve included
    # from 2025: the holidays library keeps the list (https://github.com/vacanza/holidays).
    return frozenset(holidays.Poland(years=year))


def is_day_off(day: dt.date) -> bool:
    """A Saturday, a Sunday or a statutory day off in Poland."""
    return day.weekday() >= 5 or day in _polish_holidays(day.year)


def due_date(statement_date: dt.date, grace_period_days: int) -> dt.date:
    """The statement date plus the grace period, moved to the next working day if it falls on a day off.

    Kodeks cywilny art. 115: a deadline for a performance that falls on a statutory day off or a
    Saturday ends on the next day that is neither.
    """
    day = statement_date + dt.timedelta(days=grace_period_days)
    while is_day_off(day):
        day += dt.timedelta(days=1)
    return day


# --- the minimum payment ---------------------------------------------------------------------------------


def minimum_payment(*, owed_minor: int, percent: Decimal, at_least_minor: int) -> int:
    """The share of what is owed, at least the product's amount, never more than what is owed."""
    if owed_minor <= 0:
        return 0
    return min(owed_minor, max(percent_of(owed_minor, percent), at_least_minor))


# --- fees ------------------------------------------------------------------------------------------------


def cash_withdrawal_fee(*, amount_minor: int, percent: Decimal, at_least_minor: int) -> int:
    """The product's fee for a cash withdrawal: its percentage of the amount, at least the minimum."""
    return max(percent_of(amount_minor, percent), at_least_minor)


def conversion_fee(*, amount_minor: int, percent: Decimal) -> int:
    """The product's currency conversion fee: its percentage of the converted amount."""
    return percent_of(amount_minor, percent)


def is_cash_withdrawal(*, channel: str, mcc: str) -> bool:
    return channel == "atm" or mcc in CASH_MCCS


# --- interest --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    """A change of the balance counted from a day (the posting's processing date, the value date)."""

    day: dt.date
    change_minor: int


@dataclass(frozen=True)
class InterestDay:
    day: dt.date
    owed_minor: int
    rate_percent: Decimal


@dataclass(frozen=True)
class Interest:
    amount_minor: int
    # The days with something owed, each with the balance owed and the rate applied (capped by the law).
    days: tuple[InterestDay, ...]


def daily_balances(
    *, opening_minor: int, movements: Iterable[Movement], start: dt.date, end: dt.date
) -> list[tuple[dt.date, int]]:
    """The balance at the end of each day from ``start`` to ``end``; a movement dated before ``start`` counts
    from ``start`` (it arrived after the previous statement)."""
    by_day: dict[dt.date, int] = {}
    for movement in movements:
        day = max(movement.day, start)
        by_day[day] = by_day.get(day, 0) + movement.change_minor
    balances = []
    balance = opening_minor
    day = start
    while day <= end:
        balance += by_day.get(day, 0)
        balances.append((day, balance))
        day += dt.timedelta(days=1)
    return balances


def daily_interest(
    *,
    balances: Sequence[tuple[dt.date, int]],
    annual_rate_percent: Decimal,
    reference_rates: list[tuple[dt.date, Decimal]],
) -> Interest:
    """Interest on each day's balance owed, at the product's rate capped by the day's legal maximum.

    A day's interest is owed x rate / 100 / the number of days in that day's year (actual/actual
    [ours]: a leap year's 366 days never add up to more than the annual rate). Kodeks cywilny art. 359
    § 2²: where the contract's rate exceeds the maximum, the maximum is due; the maximum of each day
    follows the NBP reference rate in force that day. The sum is rounded once.
    """
    total = Decimal(0)
    days: list[InterestDay] = []
    for day, balance in balances:
        owed = -balance
        if owed <= 0:
            continue
        rate = min(annual_rate_percent, legal_max_for(reference_rate_on(day, reference_rates)))
        days_in_year = 366 if calendar.isleap(day.year) else 365
        total += Decimal(owed) * rate / HUNDRED / days_in_year
        days.append(InterestDay(day=day, owed_minor=owed, rate_percent=rate))
    return Interest(amount_minor=round_minor(total), days=tuple(days))
