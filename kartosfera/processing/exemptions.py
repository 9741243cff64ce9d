"""PSD2 exemptions from strong customer authentication (SCA): the per-card counters and their ceilings.

docs/processing.md, "PSD2 exemptions"; the research §7 (Delegated Regulation 2018/389, the RTS):

- art. 11, a contactless payment at a terminal without SCA: at most EUR 50, and since the last SCA at most
  EUR 150 in total or 5 in a row;
- art. 16, a remote (internet) low-value payment: at most EUR 30, and since the last SCA at most EUR 100 in
  total or 5 in a row;
- the EBA's answers: the bank applies one of the two counters (``settings.PSD2_EXEMPTION_COUNTER``), counts
  only executed (approved) payments, and any SCA (a right PIN, a full 3-D Secure authentication) resets them.

Small pure functions over the card's counter values and the payment: the pipeline's checks call them and
leave the card's new values on the decision's context; the service writes them in the decision's
transaction, under the card's row lock, so that racing payments of one card count one after the other.

The counters keep the number of payments and their amount **in the account's currency** (what each payment
actually held: exact, even for a partial approval). A ceiling in another currency is converted into the
account's currency at the EUR/PLN reference rate (``conversion.eur_pln_reference_rate``), rounded down;
a payment's value in a ceiling's currency is its own amount when it is in that currency, else its billing
amount converted at the same rate, rounded half up. Both roundings can only ask for SCA a grosz early, never
late: an exemption is the bank's to apply, never an obligation (RTS art. 10-18 "shall be allowed not to
apply"), so erring towards SCA is always allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Protocol

from kartosfera.core.money import Currency
from kartosfera.processing.conversion import convert_minor


class Kind:
    """The two counters."""

    CONTACTLESS = "contactless"  # art. 11: taps without a PIN
    REMOTE = "remote"  # art. 16: internet payments without SCA


class Mode:
    """Which counter ends an exemption (``settings.PSD2_EXEMPTION_COUNTER``)."""

    COUNT = "count"
    AMOUNT = "amount"


# The card's columns of each counter: (the number, the amount in the account's currency).
COUNTER_FIELDS: dict[str, tuple[str, str]] = {
    Kind.CONTACTLESS: ("psd2_contactless_count", "psd2_contactless_minor"),
    Kind.REMOTE: ("psd2_remote_count", "psd2_remote_minor"),
}


@dataclass(frozen=True)
class Ceiling:
    """An exemption's ceilings in one currency: each payment, and (when set) the total or number since the last SCA."""

    currency: str
    per_payment_minor: int
    total_minor: int | None = None
    in_a_row: int | None = None


# The regulation's ceilings (RTS art. 11 and 16).
CONTACTLESS_RTS = Ceiling(Currency.EUR, per_payment_minor=5_000, total_minor=15_000, in_a_row=5)
LOW_VALUE_RTS = Ceiling(Currency.EUR, per_payment_minor=3_000, total_minor=10_000, in_a_row=5)
# RTS art. 18: no PSP may apply its transaction risk analysis above EUR 500 (the top of the annex's table).
TRA_MAX = Ceiling(Currency.EUR, per_payment_minor=50_000)


def low_value_bank_ceiling() -> Ceiling:
    """The bank's own, PLN-denominated low-value rule: what the portal promises (docs/3d-secure.md)."""
    from kartosfera.secure3d.services import (
        EXEMPTION_MAX_IN_A_ROW,
        EXEMPTION_MAX_PAYMENT_PLN,
        EXEMPTION_MAX_TOTAL_PLN,
    )

    return Ceiling(
        Currency.PLN,
        per_payment_minor=EXEMPTION_MAX_PAYMENT_PLN * 100,
        total_minor=EXEMPTION_MAX_TOTAL_PLN * 100,
        in_a_row=EXEMPTION_MAX_IN_A_ROW,
    )


def contactless_ceilings(merchant_country: str, no_pin_limits_pln_minor: Mapping[str, int]) -> tuple[Ceiling, ...]:
    """Art. 11's ceilings, and the no-PIN limit of the merchant's country when it has one (Poland: 100 PLN)."""
    limit = no_pin_limits_pln_minor.get(merchant_country, no_pin_limits_pln_minor.get("*"))
    if limit is None:
        return (CONTACTLESS_RTS,)
    return (CONTACTLESS_RTS, Ceiling(Currency.PLN, per_payment_minor=limit))


@dataclass(frozen=True)
class Counters:
    """A counter's values since the card's last SCA: the number of payments and their amount (account currency)."""

    count: int
    amount_minor: int


class _HasCounters(Protocol):
    psd2_contactless_count: int
    psd2_contactless_minor: int
    psd2_remote_count: int
    psd2_remote_minor: int


def counters_of(card: _HasCounters, kind: str) -> Counters:
    count_field, amount_field = COUNTER_FIELDS[kind]
    return Counters(count=getattr(card, count_field), amount_minor=getattr(card, amount_field))


@dataclass(frozen=True)
class Payment:
    """A payment as the ceilings see it: its own amount, its billing amount, and the EUR/PLN reference rate."""

    amount_minor: int
    currency: str
    billing_minor: int
    account_currency: str
    pln_per_eur: Decimal

    def _rate(self, from_currency: str, to_currency: str) -> Decimal:
        if (from_currency, to_currency) == (Currency.EUR, Currency.PLN):
            return self.pln_per_eur
        if (from_currency, to_currency) == (Currency.PLN, Currency.EUR):
            return Decimal(1) / self.pln_per_eur
        raise ValueError(f"no reference rate from {from_currency} to {to_currency}")

    def value_in(self, currency: str) -> int:
        """The payment's amount in ``currency`` (EUR or PLN): exact when it is the payment's or the account's."""
        if self.currency == currency:
            return self.amount_minor
        if self.account_currency == currency:
            return self.billing_minor
        rate = self._rate(self.account_currency, currency)
        return convert_minor(self.billing_minor, from_currency=self.account_currency, to_currency=currency, rate=rate)

    def in_account_currency(self, amount_minor: int, currency: str) -> int:
        """A ceiling given in ``currency``, in the account's currency, rounded down (never above the ceiling)."""
        if currency == self.account_currency:
            return amount_minor
        rate = self._rate(currency, self.account_currency)
        return convert_minor(
            amount_minor, from_currency=currency, to_currency=self.account_currency, rate=rate, rounding=ROUND_DOWN
        )


def payment_within(ceiling: Ceiling, payment: Payment) -> bool:
    """Is ``payment`` at most the ceiling's per-payment amount?"""
    return payment.value_in(ceiling.currency) <= ceiling.per_payment_minor


def within(ceiling: Ceiling, counters: Counters, payment: Payment, *, mode: str) -> bool:
    """May ``payment`` go without SCA under ``ceiling``, given the counter's values before it?

    Each payment at most the per-payment ceiling; then, by ``mode``, this payment is at most the
    ``in_a_row``-th since the last SCA, or the total with it stays within ``total_minor``.
    """
    if not payment_within(ceiling, payment):
        return False
    if mode == Mode.COUNT:
        return ceiling.in_a_row is None or counters.count + 1 <= ceiling.in_a_row
    if ceiling.total_minor is None:
        return True
    total = payment.in_account_currency(ceiling.total_minor, ceiling.currency)
    return counters.amount_minor + payment.billing_minor <= total


def within_all(ceilings: tuple[Ceiling, ...], counters: Counters, payment: Payment, *, mode: str) -> bool:
    return all(within(ceiling, counters, payment, mode=mode) for ceiling in ceilings)


def counted(kind: str, counters: Counters, amount_minor: int) -> dict[str, int]:
    """The card's new values of ``kind``'s counter once a payment of ``amount_minor`` (account currency) executed."""
    count_field, amount_field = COUNTER_FIELDS[kind]
    return {count_field: counters.count + 1, amount_field: counters.amount_minor + amount_minor}


def reset(card: _HasCounters) -> dict[str, int]:
    """The card's new values after a successful SCA: every counter back to 0 (only the fields not at 0 already)."""
    return {field: 0 for fields in COUNTER_FIELDS.values() for field in fields if getattr(card, field)}
