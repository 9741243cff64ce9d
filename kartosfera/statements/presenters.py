"""A statement in words, in the reader's language: one view model for its page, its PDF and its CSV.

Everything here comes from the statement's own rows (``Statement``, its ``StatementLine``s) and its
snapshot, never from the ledger or the live bank, customer or product: a statement says what the
bank said on its statement date, so a new address of the bank or a renamed merchant never changes
an issued one (docs/statements.md, "The documents"). The page and the PDF write amounts with
``Money.format`` and dates with the active language's short format (05.10.2026 in Polish); the CSV
has its own fixed Polish format for spreadsheets (documents.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import iban as stdnum_iban

from kartosfera.core.countries import country_name
from kartosfera.core.money import Money, format_amount, format_decimal
from kartosfera.processing.models import CARD_POSTING_KINDS, PostingKind
from kartosfera.statements.models import FeeReason, InterestRule, Statement, StatementLine


def short_date(day: dt.date | None) -> str:
    """A date as the active language writes it in short: 05.10.2026 in Polish, 05/10/2026 in English."""
    return date_format(day, "SHORT_DATE_FORMAT") if day is not None else ""


def signed_amount(money: Money) -> str:
    """An amount with its sign: "-123,45 zł" for a debit, "+100,00 zł" for a credit (a statement's line)."""
    text = money.format()
    return f"+{text}" if money.minor > 0 else text


def _percent(value: Any) -> str:
    """A percentage from the snapshot ("18.50") as the active language writes it ("18,50")."""
    try:
        return format_decimal(Decimal(str(value)), places=2)
    except (InvalidOperation, ValueError):
        return str(value or "")


def _iban(value: str) -> str:
    return stdnum_iban.format(value) if value else ""


@dataclass(frozen=True)
class LineView:
    """One line of the statement in words; the raw figures stay for the CSV."""

    line: StatementLine
    kind_label: str
    # What it was, in words: the merchant, a fee's reason and the payment it was charged for, the bank's words.
    description: str
    # The line's second line: its kind (unless the description says it already), the merchant's city and
    # country (in the reader's language), the card.
    details: str
    # In the account's currency, signed: "-123,45 zł", "+50,00 zł".
    amount: str
    # A converted payment: the amount in its own currency, and the rate and mark-up applied.
    original_amount: str
    conversion: str

    @property
    def is_credit(self) -> bool:
        return self.line.balance_change_minor > 0


@dataclass(frozen=True)
class SummaryRow:
    """A figure of the summary: its label, its value as written, and a stable key (ids, tests)."""

    key: str
    label: str
    value: str
    highlight: bool = False
    # A part of the figure above it ("of which interest").
    part: bool = False


@dataclass(frozen=True)
class StatementView:
    statement: Statement
    title: str
    number: str
    # A correction names the statement it corrects, and why; a corrected statement names its correction.
    corrects_number: str
    correction_reason: str
    corrected_by_number: str
    period: str
    period_end: str
    due_date: str
    bank: dict[str, str]
    holder: dict[str, str]
    account_reference: str
    iban: str
    product: str
    cards: list[dict[str, str]]
    summary: list[SummaryRow]
    terms: list[SummaryRow]
    interest_rule: str
    lines: list[LineView]

    @property
    def is_correction(self) -> bool:
        return bool(self.corrects_number)

    @property
    def logo_digest(self) -> str:
        return self.bank.get("logo_digest", "")


def statement_title(statement: Statement) -> str:
    """The statement's name in words: "Statement <number>", or "Correction of statement <the corrected one's>"."""
    if statement.corrects_id is not None and statement.corrects is not None:
        return _("Correction of statement %(number)s") % {"number": statement.corrects.number}
    return _("Statement %(number)s") % {"number": statement.number}


def statement_period(statement: Statement) -> str:
    """The statement's billing period in words: "03.09.2026 to 10.09.2026"."""
    return _("%(start)s to %(end)s") % {
        "start": short_date(statement.period_start),
        "end": short_date(statement.period_end),
    }


def corrected_by(statement: Statement) -> Statement | None:
    """The correction issued for ``statement``, when the selector joined it (no query here)."""
    return getattr(statement, "correction", None)


_CARD_KINDS = frozenset(CARD_POSTING_KINDS)


def _kind_label(kind: str) -> str:
    return str(PostingKind(kind).label) if kind in PostingKind.values else kind


def _description(line: StatementLine) -> str:
    """The line in words: a card payment's merchant, a fee's reason with the payment's merchant, the bank's words."""
    if line.kind == PostingKind.FEE and line.description in FeeReason.values:
        reason = str(FeeReason(line.description).label)
        if line.merchant_name:
            return _("%(reason)s: %(merchant)s") % {"reason": reason, "merchant": line.merchant_name}
        return reason
    if line.kind in _CARD_KINDS and line.merchant_name:
        return line.merchant_name
    return line.description or line.merchant_name or _kind_label(line.kind)


def _place(line: StatementLine) -> str:
    if line.kind == PostingKind.FEE:
        return ""
    country = country_name(line.merchant_country) if line.merchant_country else ""
    return ", ".join(part for part in (line.merchant_city, country) if part)


def _conversion(line: StatementLine, account_currency: str) -> str:
    if line.fx_rate is None:
        return ""
    # The ECB quotes 4 decimal places against the euro; a cross rate below 1 needs more to say anything.
    rate = format_decimal(line.fx_rate, places=4 if line.fx_rate >= 1 else 6)
    text = _("1 %(from_currency)s = %(rate)s %(to_currency)s") % {
        "from_currency": line.currency,
        "rate": rate,
        "to_currency": account_currency,
    }
    if line.fx_markup_percent is not None:
        markup = format_decimal(line.fx_markup_percent, places=2)
        text += "; " + _("conversion charge %(markup)s%% over the ECB reference rate") % {"markup": markup}
    return text


def line_view(line: StatementLine, *, account_currency: str) -> LineView:
    converted = line.currency != account_currency
    kind_label, description, place = _kind_label(line.kind), _description(line), _place(line)
    card = _("card *%(last4)s") % {"last4": line.card_last4} if line.card_last4 else ""
    details = " · ".join(part for part in (kind_label if kind_label != description else "", place, card) if part)
    return LineView(
        line=line,
        kind_label=kind_label,
        description=description,
        details=details,
        amount=signed_amount(Money(line.balance_change_minor, account_currency)),
        original_amount=format_amount(line.amount_minor, line.currency) if converted else "",
        conversion=_conversion(line, account_currency) if converted else "",
    )


_SUMMARY_LABELS = {
    "opening_balance": gettext_lazy("Opening balance"),
    "debits": gettext_lazy("Debits: payments, fees and interest"),
    "interest": gettext_lazy("of which interest"),
    "fees": gettext_lazy("of which fees"),
    "credits": gettext_lazy("Credits: repayments and refunds"),
    "repayments": gettext_lazy("of which repayments"),
    "closing_balance": gettext_lazy("Closing balance"),
    "owed": gettext_lazy("Amount to repay"),
    "minimum_payment": gettext_lazy("Minimum payment"),
    "due_date": gettext_lazy("Due date"),
    "credit_limit": gettext_lazy("Credit limit"),
    "held": gettext_lazy("Held by pending card payments"),
    "available": gettext_lazy("Available limit on the statement date"),
}


def _summary(statement: Statement) -> list[SummaryRow]:
    money = statement.money

    def row(key: str, value: str, highlight: bool = False, part: bool = False) -> SummaryRow:
        return SummaryRow(key=key, label=str(_SUMMARY_LABELS[key]), value=value, highlight=highlight, part=part)

    return [
        row("opening_balance", money(statement.opening_balance_minor).format()),
        row("debits", money(statement.debits_minor).format()),
        row("interest", money(statement.interest_minor).format(), part=True),
        row("fees", money(statement.fees_minor).format(), part=True),
        row("credits", money(statement.credits_minor).format()),
        row("repayments", money(statement.repayments_minor).format(), part=True),
        row("closing_balance", money(statement.closing_balance_minor).format()),
        row("owed", money(statement.owed_minor).format(), highlight=True),
        row("minimum_payment", money(statement.minimum_payment_minor).format(), highlight=True),
        row("due_date", short_date(statement.due_date), highlight=True),
        row("credit_limit", money(statement.credit_limit_minor).format()),
        row("held", money(statement.held_minor).format()),
        row("available", money(statement.available_minor).format()),
    ]


def _terms(statement: Statement, terms: dict[str, Any]) -> list[SummaryRow]:
    """The product's terms as of the statement date (the snapshot's), in words."""
    if not terms:
        return []
    money = statement.money
    return [
        SummaryRow(
            "interest_rate",
            _("Annual interest rate"),
            f"{_percent(terms.get('interest_rate_percent'))}%",
        ),
        SummaryRow(
            "grace_period",
            _("Grace period"),
            _("%(days)s days after the statement date") % {"days": terms.get("grace_period_days", "")},
        ),
        SummaryRow(
            "minimum_payment_rule",
            _("Minimum payment"),
            _("%(percent)s%% of the amount to repay, at least %(amount)s")
            % {
                "percent": _percent(terms.get("minimum_payment_percent")),
                "amount": money(int(terms.get("minimum_payment_minor") or 0)).format(),
            },
        ),
        SummaryRow(
            "cash_withdrawal_fee",
            _("Cash withdrawal fee"),
            _("%(percent)s%% of the amount, at least %(amount)s")
            % {
                "percent": _percent(terms.get("cash_withdrawal_fee_percent")),
                "amount": money(int(terms.get("cash_withdrawal_fee_min_minor") or 0)).format(),
            },
        ),
        SummaryRow(
            "conversion_fee",
            _("Currency conversion fee"),
            _("%(percent)s%% of a converted payment") % {"percent": _percent(terms.get("fx_markup_percent"))},
        ),
    ]


def statement_view(statement: Statement, lines: list[StatementLine]) -> StatementView:
    """The statement in words from its rows and snapshot; ``lines`` in their order (statement.lines)."""
    snapshot: dict[str, Any] = statement.snapshot or {}
    bank = {key: str(value) for key, value in (snapshot.get("bank") or {}).items()}
    holder = {key: str(value) for key, value in (snapshot.get("holder") or {}).items()}
    account = snapshot.get("account") or {}
    product = snapshot.get("product") or {}
    correction = corrected_by(statement)
    rule = statement.interest_rule
    return StatementView(
        statement=statement,
        title=statement_title(statement),
        number=statement.number,
        corrects_number=statement.corrects.number if statement.corrects_id and statement.corrects else "",
        correction_reason=statement.correction_reason,
        corrected_by_number=correction.number if correction is not None else "",
        period=statement_period(statement),
        period_end=short_date(statement.period_end),
        due_date=short_date(statement.due_date),
        bank=bank,
        holder=holder,
        account_reference=str(account.get("reference", "")),
        iban=_iban(str(account.get("iban", ""))),
        product=str(product.get("name", "")),
        cards=[{key: str(value) for key, value in card.items()} for card in snapshot.get("cards") or []],
        summary=_summary(statement),
        terms=_terms(statement, snapshot.get("terms") or {}),
        interest_rule=str(InterestRule(rule).label) if rule in InterestRule.values else rule,
        lines=[line_view(line, account_currency=statement.currency) for line in lines],
    )
