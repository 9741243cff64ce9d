"""Converting a foreign-currency amount into the account's currency at the bank's provisioned rate.

docs/processing.md, "Conversion". The scheme's billing amount (DE 6) always wins; a rate from
``ConversionRate`` is used only when the scheme sent none. Rounding: ROUND_HALF_UP to the
account currency's minor unit, the same for a payment and a refund (neither side gains from the
rounding; a currency-conversion mark-up, CBPR2 research §5, will be a separate, shown percentage).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import Conflict, ValidationFailed
from kartosfera.core.money import MAX_AMOUNT_MINOR, MINOR_UNITS, Currency
from kartosfera.core.statements import Statement, batch, quote, row_to_instance, select_list
from kartosfera.processing.models import ConversionRate

logger = logging.getLogger(__name__)

# ISO 4217 minor units of the currencies that do not have 2 (a transaction may be in any currency).
ISO_4217_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX"), 0),
    **dict.fromkeys(("VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
RATE_PLACES = 9  # ConversionRate.rate: 18 digits, 9 after the point
RATE_MAX = Decimal(10) ** (18 - RATE_PLACES)


def minor_exponent(currency: str) -> int:
    if currency in MINOR_UNITS:
        return MINOR_UNITS[Currency(currency)]
    return ISO_4217_EXPONENTS.get(currency, 2)


class ConversionRateExists(Conflict):
    default_message = _("A rate for these currencies from this moment already exists.")
    code = "conversion_rate_exists"


@dataclass(frozen=True)
class Converted:
    amount_minor: int
    rate: Decimal


def conversion_rate_at(from_currency: str, to_currency: str, *, at: dt.datetime) -> ConversionRate | None:
    """The rate that applies at ``at``: the latest whose ``valid_from`` has come."""
    return (
        ConversionRate.objects.filter(from_currency=from_currency, to_currency=to_currency, valid_from__lte=at)
        .order_by("-valid_from")
        .first()
    )


def convert_minor(
    amount_minor: int, *, from_currency: str, to_currency: str, rate: Decimal, rounding: str = ROUND_HALF_UP
) -> int:
    """``amount_minor`` of ``from_currency`` in minor units of ``to_currency``, rounded half up (or ``rounding``)."""
    major = Decimal(amount_minor).scaleb(-minor_exponent(from_currency)) * rate
    return int(major.scaleb(minor_exponent(to_currency)).quantize(Decimal(1), rounding=rounding))


@dataclass(frozen=True)
class ReferenceRate:
    """PLN per EUR, and where it came from: the bank's provisioned rate, or the fallback setting."""

    pln_per_eur: Decimal
    provisioned: bool


_fallback_logged = False


def eur_pln_rate_statement(*, at: dt.datetime) -> Statement:
    """The bank's latest EUR/PLN rate row at ``at``, in either direction (the card core reads it with the card)."""
    table = quote(ConversionRate._meta.db_table)
    return Statement(
        f"SELECT {select_list(ConversionRate, 'r')} FROM {table} r "  # noqa: S608 (columns from the model)
        "WHERE ((r.from_currency = %s AND r.to_currency = %s) OR (r.from_currency = %s AND r.to_currency = %s)) "
        "AND r.valid_from <= %s ORDER BY r.valid_from DESC, r.from_currency LIMIT 1",
        (Currency.EUR, Currency.PLN, Currency.PLN, Currency.EUR, at),
    )


def eur_pln_reference_rate_of(rows: list[tuple[Any, ...]]) -> ReferenceRate:
    """The reference rate from ``eur_pln_rate_statement``'s rows: the bank's rate (a PLN → EUR rate is inverted),
    or, with none, ``settings.PSD2_FALLBACK_EUR_PLN_RATE``, logged once per process so that a bank that forgot
    to provision its rates learns it from the logs (docs/processing.md, "PSD2 exemptions")."""
    global _fallback_logged
    if rows:
        row = row_to_instance(ConversionRate, rows[0])
        rate = row.rate if row.from_currency == Currency.EUR else Decimal(1) / row.rate
        return ReferenceRate(rate, provisioned=True)
    if not _fallback_logged:
        _fallback_logged = True
        logger.warning(
            "No EUR/PLN conversion rate is provisioned: the PSD2 ceilings use PSD2_FALLBACK_EUR_PLN_RATE=%s",
            settings.PSD2_FALLBACK_EUR_PLN_RATE,
        )
    return ReferenceRate(settings.PSD2_FALLBACK_EUR_PLN_RATE, provisioned=False)


def eur_pln_reference_rate(*, at: dt.datetime) -> ReferenceRate:
    """The EUR/PLN rate that converts the PSD2 ceilings (EUR) and Poland's no-PIN limit (PLN): one query."""
    with batch() as reads:
        handle = reads.add(eur_pln_rate_statement(at=at))
    return eur_pln_reference_rate_of(reads.rows(handle))


def convert_at(amount_minor: int, *, from_currency: str, to_currency: str, at: dt.datetime) -> Converted | None:
    """Convert at the rate valid at ``at``; None when the bank has provisioned no rate for the pair.

    ValidationFailed (``amount_minor``) when the result is 0 or above ``MAX_AMOUNT_MINOR``.
    """
    rate = conversion_rate_at(from_currency, to_currency, at=at)
    if rate is None:
        return None
    converted = convert_minor(amount_minor, from_currency=from_currency, to_currency=to_currency, rate=rate.rate)
    if not 0 < converted <= MAX_AMOUNT_MINOR:
        raise ValidationFailed(
            {"amount_minor": str(_("The amount converted into the account's currency is out of range."))}
        )
    return Converted(converted, rate.rate)


def conversion_rate_set(
    *, actor: Actor, from_currency: str, to_currency: str, rate: Decimal, valid_from: dt.datetime | None = None
) -> ConversionRate:
    """Provision a rate (from ``valid_from``, default now); an existing pair and moment is ``ConversionRateExists``."""
    errors: dict[str, str] = {}
    if to_currency not in Currency.values:
        errors["to_currency"] = str(_("Convert into an account currency (PLN or EUR)."))
    if from_currency == to_currency:
        errors["from_currency"] = str(_("The two currencies must differ."))
    if not (0 < rate < RATE_MAX) or rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES), rounding=ROUND_HALF_UP):
        errors["rate"] = str(_("The rate must be above 0, below 10^9, with at most 9 decimal places."))
    if errors:
        raise ValidationFailed(errors)
    valid_from = valid_from or timezone.now()
    try:
        with transaction.atomic():
            row = ConversionRate.objects.create(
                from_currency=from_currency, to_currency=to_currency, rate=rate, valid_from=valid_from
            )
            audit_record(
                actor=actor,
                action="processing.conversion_rate.set",
                obj=row,
                after={
                    "from_currency": from_currency,
                    "to_currency": to_currency,
                    "rate": str(rate),
                    "valid_from": valid_from.isoformat(),
                },
            )
    except IntegrityError as error:
        raise ConversionRateExists() from error
    return row
