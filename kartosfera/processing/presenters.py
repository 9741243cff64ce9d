"""An authorization as the card history shows it: in words, in the viewer's language.

The portal and the back office show the same row; the portal adds the link to the
setting that caused a decline (``setting_link``), the back office the pipeline's
detail (which check decided, the response code, the time taken: on the model).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kartosfera.core.countries import country_name
from kartosfera.core.money import Money, format_amount, format_decimal
from kartosfera.processing.categories import mcc_category
from kartosfera.processing.cbpr2 import markup_text
from kartosfera.processing.codes import CODES
from kartosfera.processing.models import (
    Authorization,
    AuthorizationAdjustment,
    AuthorizationStatus,
    Channel,
    ConversionCharge,
)


@dataclass(frozen=True)
class SettingLink:
    url: str
    text: str


@dataclass(frozen=True)
class HistoryRow:
    authorization: Authorization
    at: dt.datetime
    merchant: str
    city: str
    # The ISO 3166 code as the scheme sent it, and the country's name in the viewer's language.
    country: str
    country_name: str
    category: str
    # In the transaction's currency, and in the account's when it differs (converted by the scheme).
    amount: str
    billing_amount: str
    # A partial approval: what the bank approved of the amount asked (transaction currency); "" otherwise.
    partially_approved: str
    channel: str
    status: str
    status_label: str
    reason: str
    setting_link: SettingLink | None
    # The reversals and increments, in words (the back office: they are prefetched there).
    adjustments: tuple[str, ...] = ()
    # CBPR2: a converted payment's total conversion charge as a mark-up over the ECB's rate, in words.
    conversion_charge: str = ""


def _adjustment(adjustment: AuthorizationAdjustment, currency: str) -> str:
    return f"{adjustment.get_kind_display()} {adjustment.processor_id}: " + (
        f"{format_amount(adjustment.amount_minor, currency)} ({adjustment.response_code})"
    )


def _rate_text(rate: Decimal) -> str:
    # The ECB quotes 4 decimal places against the euro; a cross rate below 1 needs more to say anything.
    return format_decimal(rate, places=4 if rate >= 1 else 6)


def conversion_charge_text(authorization: Authorization) -> str:
    """The row's CBPR2 line ("Currency conversion charge: 1.18% over the ECB reference rate of …"), or "".

    The charge comes with the row (``authorization_history`` selects it): no query here.
    """
    charge: ConversionCharge | None = getattr(authorization, "conversion_charge", None)
    if charge is None:
        return ""
    return _(
        "Currency conversion charge: %(markup)s%% over the ECB reference rate of %(date)s "
        "(1 %(from_currency)s = %(rate)s %(to_currency)s)."
    ) % {
        "markup": markup_text(charge.markup_percent),
        "date": date_format(charge.reference_date, "SHORT_DATE_FORMAT"),
        "from_currency": charge.from_currency,
        "rate": _rate_text(charge.reference_rate),
        "to_currency": charge.to_currency,
    }


def history_row(
    authorization: Authorization,
    *,
    setting_link: Callable[[str], SettingLink | None] | None = None,
    with_adjustments: bool = False,
) -> HistoryRow:
    code = CODES.get(authorization.decline_reason) if authorization.decline_reason else None
    converted = authorization.currency != authorization.billing_currency
    return HistoryRow(
        authorization=authorization,
        at=authorization.created_at,
        merchant=authorization.merchant_name,
        city=authorization.merchant_city,
        country=authorization.merchant_country,
        country_name=country_name(authorization.merchant_country),
        category=mcc_category(authorization.mcc),
        amount=format_amount(authorization.amount_minor, authorization.currency),
        billing_amount=format_amount(authorization.billing_amount_minor, authorization.billing_currency)
        if converted
        else "",
        partially_approved=format_amount(authorization.approved_amount_minor, authorization.currency)
        if authorization.approved and 0 < authorization.approved_amount_minor < authorization.amount_minor
        else "",
        channel=str(Channel(authorization.channel).label) if authorization.channel in Channel.values else "",
        status=authorization.status,
        status_label=str(AuthorizationStatus(authorization.status).label),
        reason=str(code.text) if code is not None else "",
        setting_link=setting_link(code.setting) if code is not None and code.setting and setting_link else None,
        adjustments=tuple(_adjustment(a, authorization.billing_currency) for a in authorization.adjustments.all())
        if with_adjustments
        else (),
        conversion_charge=conversion_charge_text(authorization) if converted else "",
    )


def held_amount(authorization: Authorization) -> Money:
    return Money(authorization.held_minor, authorization.billing_currency)
