"""A credit product's billing terms (docs/statements.md, "Billing terms").

The terms are what the statement close computes with: the annual interest rate, the grace
period from the statement date to the due date, the minimum payment, and the fees. The bank
provisions them with its product (the provisioning API); a debit product has none.

The interest rate is bounded by the law, not by a constant: Kodeks cywilny art. 359 § 2¹
caps the maximum interest at twice the sum of the NBP reference rate and 3.5 percentage
points, and the NBP reference rate is a setting the bank keeps up to date
(``settings.NBP_REFERENCE_RATE_PERCENT``, docs/configuration.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from kartosfera.cards.models import GRACE_PERIOD_DAYS_MAX, TERMS_PERCENT_MAX, CardProduct, CreditTerms, Funding
from kartosfera.core.audit import Actor, audit_record
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


def interest_rate_legal_max() -> Decimal:
    """The maximum annual interest rate the law allows now (percent), from the configured NBP reference rate."""
    return STATUTORY_MULTIPLIER * (settings.NBP_REFERENCE_RATE_PERCENT + STATUTORY_MARGIN_POINTS)


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
        legal_max = interest_rate_legal_max()
        if rate < 0:
            errors["interest_rate_percent"] = _("The interest rate cannot be negative.")
        elif rate > legal_max:
            errors["interest_rate_percent"] = _(
                "The interest rate is above the legal maximum of %(max)s%% a year (twice the sum of the NBP "
                "reference rate, %(reference)s%%, and 3.5 percentage points)."
            ) % {
                "max": format_decimal(legal_max, places=2),
                "reference": format_decimal(settings.NBP_REFERENCE_RATE_PERCENT, places=2),
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
    audit_record(
        actor=actor,
        action="cards.credit_terms.set",
        obj=product,
        bank_id=product.bank_id,
        before={name: before[name] for name in changed if name in before},
        # The reference rate the legal maximum was checked against, as configured at that moment.
        after={
            **{name: after[name] for name in changed},
            "nbp_reference_rate_percent": str(settings.NBP_REFERENCE_RATE_PERCENT),
            "nbp_reference_rate_since": settings.NBP_REFERENCE_RATE_SINCE.isoformat(),
        },
    )
    return terms
