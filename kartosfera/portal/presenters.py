"""What the cardholder pages show about a card, derived once so templates stay dumb."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kartosfera.cards.controls import LimitControl
from kartosfera.cards.models import Card, CountryRule, Funding, Segment, StatusNow
from kartosfera.cards.operations import CardState, card_state
from kartosfera.core.money import Money

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


# A card's status as the cardholder sees it is the operations table's state
# (cards/operations.py: card_state): written once, for the pages and the services.
STATUS_LABELS: dict[str, StrOrPromise] = {
    CardState.INACTIVE: pgettext_lazy("card status", "Not activated"),
    CardState.ACTIVE: pgettext_lazy("card status", "Active"),
    CardState.BLOCKED: pgettext_lazy("card status", "Temporarily blocked"),
    CardState.BLOCKED_BY_BANK: pgettext_lazy("card status", "Blocked by the bank"),
    CardState.CANCELLED: pgettext_lazy("card status", "Cancelled"),
    CardState.EXPIRED: pgettext_lazy("card status", "Expired"),
}
# The states in which the card can no longer pay in any way.
FINAL_STATES = frozenset({CardState.CANCELLED, CardState.EXPIRED})

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


class MobilePaymentsState:
    ACTIVE = "active"
    NOT_ACTIVE = "not_active"
    NOT_APPLICABLE = "not_applicable"


MOBILE_PAYMENTS_LABELS: dict[str, StrOrPromise] = {
    MobilePaymentsState.ACTIVE: _("Active: the card can be added to a phone wallet or BS Pay"),
    MobilePaymentsState.NOT_ACTIVE: _("Not active"),
    MobilePaymentsState.NOT_APPLICABLE: pgettext_lazy("mobile payments", "Not applicable"),
}


def contactless_state(card: Card, *, status: str) -> str:
    if status in FINAL_STATES:
        return ContactlessState.NOT_APPLICABLE
    switch = card.controls.switch("contactless")
    if not switch.available:
        return ContactlessState.UNAVAILABLE
    return ContactlessState.ON if switch.enabled else ContactlessState.OFF


def mobile_payments_state(card: Card, *, status: str) -> str:
    # A cancelled or expired card pays no way at all: "active" there would mislead.
    if status in FINAL_STATES:
        return MobilePaymentsState.NOT_APPLICABLE
    return MobilePaymentsState.ACTIVE if card.controls.is_on("mobile_payments") else MobilePaymentsState.NOT_ACTIVE


@dataclass(frozen=True)
class CardSummary:
    """One card as the list and the detail page show it."""

    card: Card
    status: str
    contactless: str
    mobile_payments: str
    status_now: StatusNow

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def is_final(self) -> bool:
        """Cancelled or expired: the page shows what to do next instead of operations."""
        return self.status in FINAL_STATES

    @property
    def mobile_payments_label(self) -> str:
        return str(MOBILE_PAYMENTS_LABELS[self.mobile_payments])

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
    def limits(self) -> list[LimitControl]:
        """The card's amount limits, as the registry lists them (cards/controls.py)."""
        return self.card.controls.limits


def card_summary(card: Card, *, now: dt.datetime) -> CardSummary:
    status = card_state(card, now=now)
    return CardSummary(
        card=card,
        status=status,
        contactless=contactless_state(card, status=status),
        mobile_payments=mobile_payments_state(card, status=status),
        status_now=card.status_now(now),
    )


@dataclass(frozen=True)
class ControlsSummary:
    """The card's finer controls in words, for the card page (docs/controls.md)."""

    switched_off: list[str]
    count_limits: list[tuple[str, int]]
    blocked_categories: list[str]
    lifting: list[tuple[str, dt.datetime]]
    country_rule: str
    countries: list[str]
    raise_until: dt.datetime | None
    raised_limits: list[tuple[str, Money]]

    @property
    def all_default(self) -> bool:
        return not (self.switched_off or self.count_limits or self.blocked_categories or self.lifting) and (
            self.country_rule == CountryRule.NONE
        )


def country_name(code: str) -> str:
    """A country's name in the active language (Babel's CLDR names), else its code."""
    from babel import Locale
    from django.utils.translation import get_language

    try:
        return str(Locale.parse((get_language() or "pl").replace("-", "_")).territories.get(code, code))
    except (ValueError, TypeError):
        return code


def controls_summary(card: Card, *, now: dt.datetime) -> ControlsSummary:
    from kartosfera.cards.controls import FINE_SWITCHES, control, count_limits
    from kartosfera.cards.merchant_categories import blockable_category

    controls = card.controls
    blocked = controls.blocked_categories(now=now)
    raising = controls.temporary_raise_active(now)
    return ControlsSummary(
        switched_off=[str(control(name).label) for name in FINE_SWITCHES if not controls.is_on(name)],
        count_limits=[
            (str(d.label), value) for d in count_limits() if (value := controls.count_limit(d.name)) is not None
        ],
        blocked_categories=[str(blockable_category(k).label) for k, state in blocked.items() if state.lifts_at is None],
        lifting=[(str(blockable_category(k).label), s.lifts_at) for k, s in blocked.items() if s.lifts_at is not None],
        country_rule=card.country_rule,
        countries=[country_name(code) for code in card.countries],
        raise_until=card.temporary_limits_until if raising else None,
        raised_limits=[
            (str(control(name).label), Money(int(value), card.product.currency))
            for name, value in (card.temporary_limits.items() if raising else ())
        ],
    )
