"""What the cardholder pages show about a card, derived once so templates stay dumb."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kartosfera.cards.models import Card, Funding, LimitChannel, Segment
from kartosfera.cards.operations import Operation
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.models import AuditEvent
from kartosfera.core.money import Money

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class DisplayStatus:
    """A card's status as the cardholder sees it: the stored status plus "expired"."""

    INACTIVE = CardStatus.INACTIVE.value
    ACTIVE = CardStatus.ACTIVE.value
    BLOCKED = CardStatus.BLOCKED.value
    CANCELLED = CardStatus.CANCELLED.value
    EXPIRED = "expired"


STATUS_LABELS: dict[str, StrOrPromise] = {
    DisplayStatus.INACTIVE: pgettext_lazy("card status", "Not activated"),
    DisplayStatus.ACTIVE: pgettext_lazy("card status", "Active"),
    DisplayStatus.BLOCKED: pgettext_lazy("card status", "Temporarily blocked"),
    DisplayStatus.CANCELLED: pgettext_lazy("card status", "Cancelled"),
    DisplayStatus.EXPIRED: pgettext_lazy("card status", "Expired"),
}

FUNDING_LABELS: dict[str, StrOrPromise] = {
    Funding.DEBIT: pgettext_lazy("card type", "Debit card"),
    Funding.CREDIT: pgettext_lazy("card type", "Credit card"),
}
SEGMENT_LABELS: dict[str, StrOrPromise] = {
    Segment.INDIVIDUAL: pgettext_lazy("card segment", "individual"),
    Segment.BUSINESS: pgettext_lazy("card segment", "business"),
}


class ContactlessState:
    ON = "on"
    OFF = "off"
    UNAVAILABLE = "unavailable"
    # A cancelled or expired card pays no way at all; "on" there would mislead.
    NOT_APPLICABLE = "not_applicable"


CONTACTLESS_LABELS: dict[str, StrOrPromise] = {
    ContactlessState.ON: pgettext_lazy("contactless", "On"),
    ContactlessState.OFF: pgettext_lazy("contactless", "Off"),
    ContactlessState.UNAVAILABLE: pgettext_lazy("contactless", "Not available on this card"),
    ContactlessState.NOT_APPLICABLE: pgettext_lazy("contactless", "Not applicable"),
}

LIMIT_LABELS: dict[str, StrOrPromise] = {
    LimitChannel.CASH: _("Cash limit"),
    LimitChannel.NONCASH: _("Non-cash limit"),
    LimitChannel.INTERNET: _("Internet limit"),
}
LIMIT_HINTS: dict[str, StrOrPromise] = {
    LimitChannel.CASH: _("ATM withdrawals per day"),
    LimitChannel.NONCASH: _("Payments in shops and online per day"),
    LimitChannel.INTERNET: _("Online payments per day, part of the non-cash limit"),
}


def display_status(card: Card, *, today: dt.date) -> str:
    """The stored status, except that a card past its expiry shows as expired.

    A cancellation is final and says more than the date, so it wins over expiry.
    """
    if card.status == CardStatus.CANCELLED:
        return DisplayStatus.CANCELLED
    if card.is_expired(today):
        return DisplayStatus.EXPIRED
    return card.status


def contactless_state(card: Card, *, status: str) -> str:
    if status in {DisplayStatus.CANCELLED, DisplayStatus.EXPIRED}:
        return ContactlessState.NOT_APPLICABLE
    if not card.product.contactless_capable:
        return ContactlessState.UNAVAILABLE
    return ContactlessState.ON if card.contactless_enabled else ContactlessState.OFF


@dataclass(frozen=True)
class LimitRow:
    channel: str
    label: str
    hint: str
    amount: Money
    maximum: Money


@dataclass(frozen=True)
class CardSummary:
    """One card as the list and the detail page show it."""

    card: Card
    status: str
    contactless: str

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def type_label(self) -> str:
        return f"{FUNDING_LABELS[self.card.product.funding]}, {SEGMENT_LABELS[self.card.product.segment]}"

    @property
    def contactless_label(self) -> str:
        return str(CONTACTLESS_LABELS[self.contactless])

    @property
    def is_business(self) -> bool:
        return self.card.product.segment == Segment.BUSINESS

    @property
    def limits(self) -> list[LimitRow]:
        return [
            LimitRow(
                channel=channel,
                label=str(LIMIT_LABELS[channel]),
                hint=str(LIMIT_HINTS[channel]),
                amount=self.card.limit(channel),
                maximum=self.card.limit_max(channel),
            )
            for channel in LimitChannel.values
        ]


def card_summary(card: Card, *, today: dt.date) -> CardSummary:
    status = display_status(card, today=today)
    return CardSummary(card=card, status=status, contactless=contactless_state(card, status=status))


HISTORY_LABELS: dict[str, StrOrPromise] = {
    "cards.card.issued": _("Card issued"),
    "cards.card.active": _("Card activated or unblocked"),
    "cards.card.blocked": _("Card temporarily blocked"),
    "cards.card.cancelled": _("Card cancelled"),
    "cards.card.contactless_enabled": _("Contactless payments switched on"),
    "cards.card.contactless_disabled": _("Contactless payments switched off"),
    "cards.card.limits_changed": _("Limits changed"),
    "cards.card.pin_changed": _("PIN changed"),
    "cards.card.mobile_payments_activated": _("Mobile payments activated"),
    "cards.card.product_terms_applied": _("Product terms applied by the bank"),
    "cards.card.operation_refused": _("Operation refused"),
}


OPERATION_LABELS: dict[str, StrOrPromise] = {
    Operation.ACTIVATE: _("Activation"),
    Operation.BLOCK: _("Temporary block"),
    Operation.UNBLOCK: _("Unblocking"),
    Operation.CANCEL: _("Cancellation"),
    Operation.CONTACTLESS_OFF: _("Switching contactless payments off"),
    Operation.CONTACTLESS_ON: _("Switching contactless payments on"),
    Operation.LIMITS_CHANGE: _("Change of limits"),
    Operation.PIN_CHANGE: _("Change of PIN"),
    Operation.MOBILE_PAYMENTS_ACTIVATE: _("Activation of mobile payments"),
    Operation.THREEDS: _("3-D Secure"),
}


@dataclass(frozen=True)
class HistoryRow:
    occurred_at: dt.datetime
    label: str
    detail: str


def history_rows(events: list[AuditEvent]) -> list[HistoryRow]:
    """The card's audit rows in the cardholder's words (translated labels, the reason when there is one)."""
    rows = []
    for event in events:
        label = str(HISTORY_LABELS.get(event.action, _("Card updated")))
        if event.action == "cards.card.active":
            activated = event.after.get("status_reason") == StatusReason.ACTIVATED
            label = str(_("Card activated") if activated else _("Card unblocked"))
        detail = ""
        reason = event.after.get("status_reason")
        if event.action == "cards.card.cancelled" and reason in StatusReason.values:
            detail = str(StatusReason(reason).label)
        elif event.action == "cards.card.blocked":
            detail = str(event.after.get("block_note", ""))
        elif event.action == "cards.card.operation_refused":
            detail = str(OPERATION_LABELS.get(event.after.get("operation", ""), ""))
        rows.append(HistoryRow(occurred_at=event.occurred_at, label=label, detail=detail))
    return rows
