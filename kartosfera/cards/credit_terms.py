"""A credit product's billing terms (docs/statements.md, "Billing terms").

The terms are what the statement close computes with: the annual interest rate, the grace
period from the statement date to the due date, the minimum payment, and the fees. The bank
provisions them with its product (the provisioning API); a debit product has none.

The interest rate is bounded by the law, not by a constant: Kodeks cywilny art. 359 § 2¹
caps the maximum interest at twice the sum of the NBP reference rate and 3.5 percentage
points, and the NBP reference rate is what the bank keeps up to date: the configured rate
(``settings.NBP_REFERENCE_RATE_PERCENT``, docs/configuration.md) and the dated changes it records
(``NbpReferenceRate``, ``manage.py nbp_reference_rate``), which the statement close reads day by day.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.cards.models import (
    GRACE_PERIOD_DAYS_MAX,
    TERMS_PERCENT_MAX,
    CardProduct,
    CreditTerms,
    Funding,
    NbpReferenceRate,
)
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.dates import EARLIEST_DATE
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.money import MAX_AMOUNT_MINOR, format_decimal

TERMS_FIELDS = (
    "interest_rate_percent",
    "grace_period_days",
    "minimum_payment_percent",
    "minimum_payment_minor",
    "cash_withdrawal_fee_percent",
    "cash_withdrawal_fee_min_minor",
    "fx_markup_percent",
)
PERCENT_FIELDS = (
    "interest_rate_percent",
    "minimum_payment_percent",
    "cash_withdrawal_fee_percent",
    "fx_markup_percent",
)
AMOUNT_FIELDS = ("minimum_payment_minor", "cash_withdrawal_fee_min_minor")
PERCENT_PLACES = Decimal("0.01")
# Kodeks cywilny art. 359 § 2¹: maximum interest = 2 x (NBP reference rate + 3.5 percentage points).
STATUTORY_MARGIN_POINTS = Decimal("3.5")
STATUTORY_MULTIPLIER = 2


def reference_rate_history() -> list[tuple[dt.date, Decimal]]:
    """Every known NBP reference rate with the day it applies from, oldest first.

    The table the bank keeps (``NbpReferenceRate``) and the configured rate
    (``NBP_REFERENCE_RATE_PERCENT`` since ``NBP_REFERENCE_RATE_SINCE``); on the same day the table wins.
    """
    rates = {settings.NBP_REFERENCE_RATE_SINCE: settings.NBP_REFERENCE_RATE_PERCENT}
    rates.update(NbpReferenceRate.objects.values_list("valid_from", "rate_percent"))
    return sorted(rates.items())


def reference_rate_on(day: dt.date, history: list[tuple[dt.date, Decimal]] | None = None) -> Decimal:
    """The NBP reference rate in force on ``day``; before the first known change, the earliest known rate."""
    history = reference_rate_history() if history is None else history
    valid_from = [since for since, _rate in history]
    index = bisect.bisect_right(valid_from, day) - 1
    return history[max(index, 0)][1]


def legal_max_for(reference_rate: Decimal) -> Decimal:
    """Kodeks cywilny art. 359 § 2¹: twice the sum of the reference rate and 3.5 percentage points."""
    return STATUTORY_MULTIPLIER * (reference_rate + STATUTORY_MARGIN_POINTS)


def interest_rate_legal_max(day: dt.date | None = None) -> Decimal:
    """The maximum annual interest rate the law allows on ``day`` (default: today), in percent."""
    return legal_max_for(reference_rate_on(day or timezone.localdate()))


def _percent_error(value: Decimal) -> str | None:
    if not isinstance(value, Decimal) or not value.is_finite() or value != value.quantize(PERCENT_PLACES):
        return _("A percentage with at most 2 decimal places.")
    return None


def credit_terms_errors(values: Mapping[str, Any]) -> dict[str, str]:
    """Each field's problem with a complete set of terms: the ranges, and the legal maximum of interest."""
    errors: dict[str, str] = {}
    for name in PERCENT_FIELDS:
        if message := _percent_error(values[name]):
            errors[name] = message
    rate = values["interest_rate_percent"]
    if "interest_rate_percent" not in errors:
        reference_rate = reference_rate_on(timezone.localdate())
        legal_max = legal_max_for(reference_rate)
        if rate < 0:
            errors["interest_rate_percent"] = _("The interest rate cannot be negative.")
        elif rate > legal_max:
            errors["interest_rate_percent"] = _(
                "The interest rate is above the legal maximum of %(max)s%% a year (twice the sum of the NBP "
                "reference rate, %(reference)s%%, and 3.5 percentage points)."
            ) % {
                "max": format_decimal(legal_max, places=2),
                "reference": format_decimal(reference_rate, places=2),
            }
    grace = values["grace_period_days"]
    if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= GRACE_PERIOD_DAYS_MAX:
        errors["grace_period_days"] = _("The grace period is 0 to %(max)d days.") % {"max": GRACE_PERIOD_DAYS_MAX}
    minimum = values["minimum_payment_percent"]
    if "minimum_payment_percent" not in errors and not 0 < minimum <= TERMS_PERCENT_MAX:
        errors["minimum_payment_percent"] = _("The minimum payment is above 0 and at most 100 percent of the balance.")
    for name in ("cash_withdrawal_fee_percent", "fx_markup_percent"):
        if name not in errors and not 0 <= values[name] <= TERMS_PERCENT_MAX:
            errors[name] = _("A percentage from 0 to 100.")
    for name in AMOUNT_FIELDS:
        amount = values[name]
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_AMOUNT_MINOR:
            errors[name] = _("An amount in minor units, 0 to 10^15.")
    return errors


def credit_terms_view(terms: CreditTerms | None) -> dict[str, Any]:
    """The terms as the audit log and the API compare them: decimals as text, so that 18.5 equals 18.50."""
    if terms is None:
        return {}
    return {
        name: str(getattr(terms, name)) if name in PERCENT_FIELDS else getattr(terms, name) for name in TERMS_FIELDS
    }


def _normalised(values: Mapping[str, Any]) -> dict[str, Any]:
    # Decimals quantized to the stored 2 places, so that "18.5" and "18.50" are the same terms.
    return {
        name: values[name].quantize(PERCENT_PLACES)
        if name in PERCENT_FIELDS and isinstance(values[name], Decimal) and values[name].is_finite()
        else values[name]
        for name in TERMS_FIELDS
    }


@transaction.atomic
def credit_terms_set(*, actor: Actor, product: CardProduct, **changes: Any) -> CreditTerms:
    """Set or change a credit product's terms: the first time every field, later any of them (the rest stay).

    Under the product's row lock, so that two changes at once never mix their fields. A debit
    product has no terms (ValidationFailed). Audited as ``cards.credit_terms.set`` with what changed.
    """
    unknown = set(changes) - set(TERMS_FIELDS)
    if unknown:
        raise ValidationFailed({f"credit_terms.{name}": _("Unknown term.") for name in sorted(unknown)})
    product = CardProduct.objects.select_for_update().get(pk=product.pk)
    if product.funding != Funding.CREDIT:
        raise ValidationFailed({"credit_terms": _("Only a credit product has credit terms; this one is debit.")})
    terms = CreditTerms.objects.filter(product=product).first()
    before = credit_terms_view(terms)
    current = {name: getattr(terms, name) for name in TERMS_FIELDS} if terms is not None else {}
    merged = {**current, **changes}
    missing = [name for name in TERMS_FIELDS if name not in merged]
    if missing:
        raise ValidationFailed({f"credit_terms.{name}": _("This field is required.") for name in missing})
    errors = credit_terms_errors(merged)
    if errors:
        raise ValidationFailed({f"credit_terms.{name}": message for name, message in errors.items()})
    values = _normalised(merged)
    if terms is None:
        terms = CreditTerms(product=product, **values)
    else:
        for name, value in values.items():
            setattr(terms, name, value)
    after = credit_terms_view(terms)
    if after == before:
        return terms
    terms.save()
    changed = sorted(name for name in after if after[name] != before.get(name))
    today = timezone.localdate()
    history = reference_rate_history()
    in_force_since = max((since for since, _rate in history if since <= today), default=history[0][0])
    audit_record(
        actor=actor,
        action="cards.credit_terms.set",
        obj=product,
        bank_id=product.bank_id,
        before={name: before[name] for name in changed if name in before},
        # The reference rate the legal maximum was checked against, as known at that moment.
        after={
            **{name: after[name] for name in changed},
            "nbp_reference_rate_percent": str(reference_rate_on(today, history)),
            "nbp_reference_rate_since": in_force_since.isoformat(),
        },
    )
    return terms


def nbp_reference_rate_record(*, actor: Actor, valid_from: dt.date, rate_percent: Decimal) -> NbpReferenceRate:
    """Record the NBP reference rate in force from ``valid_from`` (a change announced by the RPP); audited.

    A rate already recorded for that day is replaced only by the same value (idempotent): a mistaken
    entry is a matter for the database's owner, not an edit that would silently alter what closed
    statements were capped at.
    """
    errors: dict[str, str] = {}
    if (message := _percent_error(rate_percent)) or not Decimal(0) <= rate_percent <= Decimal(50):
        errors["rate_percent"] = message or _("The reference rate must lie between 0 and 50 percent.")
    if valid_from < EARLIEST_DATE or valid_from > timezone.localdate() + dt.timedelta(days=366):
        errors["valid_from"] = _("The date must lie between 1900-01-01 and a year from today.")
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        existing = NbpReferenceRate.objects.select_for_update().filter(valid_from=valid_from).first()
        if existing is not None:
            if existing.rate_percent != rate_percent:
                raise ValidationFailed({"valid_from": _("A different rate is already recorded from this day.")})
            return existing
        entry = NbpReferenceRate.objects.create(valid_from=valid_from, rate_percent=rate_percent)
        audit_record(
            actor=actor,
            action="cards.nbp_reference_rate.recorded",
            obj=entry,
            after={"valid_from": valid_from.isoformat(), "rate_percent": str(rate_percent)},
        )
    return entry
