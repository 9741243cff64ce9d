"""The card history's lines in words, in the viewer's language: authorizations and postings.

The portal and the back office show the same row; the portal adds the link to the
setting that caused a decline (``setting_link``), the back office the pipeline's
detail (which check decided, the response code, the time taken: on the model) and
the clearing records behind each line. An authorization's line says what was
settled when it is not what was authorized, and what is still held; a posting of
its own (a force post, a refund, a chargeback, a clearing reversal) is a line that
says whose payment it belongs to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.acs.models import AuthenticationRecord
from kartosfera.acs.presenters import record_result
from kartosfera.core.countries import country_name
from kartosfera.core.money import Money, format_amount, format_decimal
from kartosfera.processing.categories import mcc_category
from kartosfera.processing.cbpr2 import markup_text
from kartosfera.processing.clearing import ReviewReason
from kartosfera.processing.codes import CODES
from kartosfera.processing.models import (
    CREDIT_POSTING_KINDS,
    Authorization,
    AuthorizationAdjustment,
    AuthorizationStatus,
    Channel,
    ConversionCharge,
    Posting,
    PostingKind,
)

# Why the clearing flagged a posting, for the back office.
REVIEW_TEXTS = {
    ReviewReason.OVER_TOLERANCE: gettext_lazy("settled above the authorized amount beyond the tolerance"),
    ReviewReason.AFTER_REVERSAL: gettext_lazy("settled after the merchant reversed the payment"),
}


@dataclass(frozen=True)
class SettingLink:
    url: str
    text: str


@dataclass(frozen=True)
class HistoryRow:
    # One of the two: the line's authorization, or its posting (a posting of its own).
    authorization: Authorization | None
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
    posting: Posting | None = None
    # An authorization's: settled for another amount than authorized, or what is still held.
    settlement: str = ""
    # A posting's: whose payment it belongs to, in the cardholder's words.
    note: str = ""
    # The back office: the clearing records behind the line, in words (review flags included).
    records: tuple[str, ...] = ()
    # An internet payment's 3-D Secure authentication (its value paid for it) and how it ended, in words.
    authentication: AuthenticationRecord | None = None
    authentication_result: str = ""

    @property
    def anchor(self) -> str:
        """The line's id in the page."""
        if self.posting is not None:
            return f"posting-{self.posting.pk}"
        assert self.authorization is not None
        return f"authorization-{self.authorization.pk}"


def _adjustment(adjustment: AuthorizationAdjustment, currency: str) -> str:
    return f"{adjustment.get_kind_display()} {adjustment.processor_id}: " + (
        f"{format_amount(adjustment.amount_minor, currency)} ({adjustment.response_code})"
    )


def _record(posting: Posting) -> str:
    """A clearing record behind a line, for the back office."""
    amount = format_amount(posting.billing_amount_minor, posting.billing_currency)
    text = f"{posting.get_kind_display()} {posting.record_id or posting.bank_reference}: {amount}"
    details = [_("processing date %(date)s") % {"date": date_format(posting.processing_date, "SHORT_DATE_FORMAT")}]
    if posting.acquirer_reference_number:
        details.append(f"ARN {posting.acquirer_reference_number}")
    if posting.original is not None:
        details.append(_("gives back %(record)s") % {"record": posting.original.record_id})
    if posting.needs_review:
        reason = REVIEW_TEXTS.get(posting.review_reason, posting.review_reason)
        details.append(_("to review: %(reason)s") % {"reason": reason})
    return f"{text} ({', '.join(details)})"


def _settlement(authorization: Authorization, clearings: list[Posting]) -> str:
    """What the clearing settled, when the line's amount does not say it already."""
    if not clearings:
        return ""
    settled = sum(posting.billing_amount_minor for posting in clearings)
    currency = authorization.billing_currency
    if authorization.status == AuthorizationStatus.PARTIALLY_SETTLED:
        return _("%(settled)s settled so far, %(held)s still held") % {
            "settled": format_amount(settled, currency),
            "held": format_amount(authorization.held_minor, currency),
        }
    if settled != authorization.billing_amount_minor:
        return _("Settled for %(amount)s") % {"amount": format_amount(settled, currency)}
    return ""


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


def _authentication(authorization: Authorization) -> AuthenticationRecord | None:
    """The payment's 3-D Secure authentication when the selector joined it (history_entries_load), else None.

    Never a query per line: a caller that did not join it gets lines without the link, not N queries.
    """
    if authorization.authentication_id is None:
        return None
    if not Authorization._meta.get_field("authentication").is_cached(authorization):
        return None
    return authorization.authentication


def history_row(
    authorization: Authorization,
    *,
    setting_link: Callable[[str], SettingLink | None] | None = None,
    with_adjustments: bool = False,
) -> HistoryRow:
    """An authorization's line; its clearings are read from ``clearings`` (selectors.history_entries_load)."""
    code = CODES.get(authorization.decline_reason) if authorization.decline_reason else None
    converted = authorization.currency != authorization.billing_currency
    clearings: list[Posting] = getattr(authorization, "clearings", [])
    authentication = _authentication(authorization)
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
        settlement=_settlement(authorization, clearings),
        records=tuple(_record(posting) for posting in clearings) if with_adjustments else (),
        conversion_charge=conversion_charge_text(authorization) if converted else "",
        authentication=authentication,
        authentication_result=record_result(authentication).text if authentication is not None else "",
    )


def _payment_day(posting: Posting) -> dt.date | None:
    """The day of the payment a refund or a correction belongs to (its authorization's, else its original's)."""
    if posting.authorization is not None:
        return posting.authorization.local_date
    if posting.original is not None:
        return posting.original.local_date
    return None


def _note(posting: Posting) -> str:
    day = _payment_day(posting)
    date = date_format(day, "SHORT_DATE_FORMAT") if day is not None else ""
    if posting.kind == PostingKind.FORCE_POST:
        return _("The merchant booked this payment without asking the bank first (e.g. on board a plane).")
    if posting.kind == PostingKind.CHARGEBACK:
        return _("Your complaint about the payment of %(date)s was accepted.") % {"date": date}
    if posting.kind == PostingKind.CLEARING_REVERSAL:
        return _("The merchant's bank withdrew a charge for the payment of %(date)s.") % {"date": date}
    if posting.kind == PostingKind.REFUND and day is not None:
        return _("For the payment of %(date)s.") % {"date": date}
    return ""


def posting_row(posting: Posting, *, with_records: bool = False) -> HistoryRow:
    """A posting's own line (a force post, a refund, a chargeback, a clearing reversal); credits read "+"."""
    sign = "+" if posting.kind in CREDIT_POSTING_KINDS else ""
    converted = posting.currency != posting.billing_currency
    return HistoryRow(
        authorization=None,
        posting=posting,
        at=posting.created_at,
        merchant=posting.merchant_name or posting.get_kind_display(),
        city=posting.merchant_city,
        country=posting.merchant_country,
        country_name=country_name(posting.merchant_country) if posting.merchant_country else "",
        category=mcc_category(posting.mcc) if posting.mcc else "",
        amount=sign + format_amount(posting.amount_minor, posting.currency),
        billing_amount=sign + format_amount(posting.billing_amount_minor, posting.billing_currency)
        if converted
        else "",
        partially_approved="",
        channel=str(Channel(posting.channel).label) if posting.channel in Channel.values else "",
        status=posting.kind,
        status_label=posting.get_kind_display(),
        reason="",
        setting_link=None,
        note=_note(posting),
        records=(_record(posting),) if with_records else (),
    )


def history_rows(
    entries: Iterable[Authorization | Posting],
    *,
    setting_link: Callable[[str], SettingLink | None] | None = None,
    staff: bool = False,
) -> list[HistoryRow]:
    """The lines of a page of the history (selectors.history_entries_load); ``staff`` adds the back office's detail."""
    return [
        history_row(entry, setting_link=setting_link, with_adjustments=staff)
        if isinstance(entry, Authorization)
        else posting_row(entry, with_records=staff)
        for entry in entries
    ]


def held_amount(authorization: Authorization) -> Money:
    return Money(authorization.held_minor, authorization.billing_currency)
