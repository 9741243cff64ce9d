"""Which card operation each card state allows: ONE table, read by services, views and docs.

The state is the card's state as it holds now (``card_state``): the stored
status, except that a cardholder's block older than 60 days counts as
``cancelled`` (Card.status_now), a block the bank imposed is ``blocked_by_bank``,
and a card past its expiry date counts as ``expired`` (a cancellation wins over
expiry). The cardholder's column and the bank's (staff, the bank's systems)
differ in one place only: a block the bank imposed is lifted by the bank.
docs/card-operations.md holds the same table; a test keeps the two equal
(``operations_table_markdown`` writes it).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.cards.models import Segment
from kartosfera.cards.states import CUSTOMER_CANCEL_REASONS, STAFF_CANCEL_REASONS, CardStatus, StatusReason
from kartosfera.core.errors import DomainError
from kartosfera.core.helpline import helpline
from kartosfera.core.models import ActorType

if TYPE_CHECKING:
    from kartosfera.cards.models import Card
    from kartosfera.core.audit import Actor


class Operation:
    """The operations a cardholder can ask for on one card."""

    ACTIVATE = "activate"
    BLOCK = "block"
    UNBLOCK = "unblock"
    CANCEL = "cancel"
    CONTACTLESS_OFF = "contactless_off"
    CONTACTLESS_ON = "contactless_on"
    LIMITS_CHANGE = "limits_change"
    PIN_CHANGE = "pin_change"
    MOBILE_PAYMENTS_ACTIVATE = "mobile_payments_activate"
    MOBILE_PAYMENTS_DEACTIVATE = "mobile_payments_deactivate"
    THREEDS = "threeds"
    CONTROLS_CHANGE = "controls_change"


class CardState:
    """The states of the table: the four stored statuses, the bank's block apart, and the derived ``expired``."""

    INACTIVE = CardStatus.INACTIVE.value
    ACTIVE = CardStatus.ACTIVE.value
    BLOCKED = CardStatus.BLOCKED.value  # blocked by the cardholder
    BLOCKED_BY_BANK = "blocked_by_bank"
    CANCELLED = CardStatus.CANCELLED.value
    EXPIRED = "expired"


STATES: tuple[str, ...] = (
    CardState.INACTIVE,
    CardState.ACTIVE,
    CardState.BLOCKED,
    CardState.BLOCKED_BY_BANK,
    CardState.CANCELLED,
    CardState.EXPIRED,
)
OPERATIONS: tuple[str, ...] = (
    Operation.ACTIVATE,
    Operation.BLOCK,
    Operation.UNBLOCK,
    Operation.CANCEL,
    Operation.CONTACTLESS_OFF,
    Operation.CONTACTLESS_ON,
    Operation.LIMITS_CHANGE,
    Operation.PIN_CHANGE,
    Operation.MOBILE_PAYMENTS_ACTIVATE,
    Operation.MOBILE_PAYMENTS_DEACTIVATE,
    Operation.THREEDS,
    Operation.CONTROLS_CHANGE,
)

_I, _A, _B, _BB = CardState.INACTIVE, CardState.ACTIVE, CardState.BLOCKED, CardState.BLOCKED_BY_BANK

# PRODUCT.md "Cards": an inactive card allows only activation and cancellation;
# a blocked one cannot change its limits or PIN (nor join a phone wallet: a
# temporary block stops token payments too); a cancelled or expired card allows
# nothing. Contactless stays switchable on a blocked card: it is a preference
# the cardholder may want set before unblocking, and moves no money by itself.
# Switching mobile payments off, like blocking and cancelling, is possible
# whenever the card could still pay: switching something off is always allowed.
# A block the bank imposed is the bank's to lift (issue 9, point 11): the
# cardholder may still cancel the card or switch things off.
ALLOWED_STATES: dict[str, frozenset[str]] = {
    Operation.ACTIVATE: frozenset({_I}),
    Operation.BLOCK: frozenset({_A}),
    Operation.UNBLOCK: frozenset({_B}),
    Operation.CANCEL: frozenset({_I, _A, _B, _BB}),
    Operation.CONTACTLESS_OFF: frozenset({_A, _B, _BB}),
    Operation.CONTACTLESS_ON: frozenset({_A, _B, _BB}),
    Operation.LIMITS_CHANGE: frozenset({_A}),
    Operation.PIN_CHANGE: frozenset({_A}),
    Operation.MOBILE_PAYMENTS_ACTIVATE: frozenset({_A}),
    Operation.MOBILE_PAYMENTS_DEACTIVATE: frozenset({_I, _A, _B, _BB}),
    Operation.THREEDS: frozenset({_A}),
    # The finer controls are preferences, like contactless: settable on a blocked card, ready for the unblock.
    Operation.CONTROLS_CHANGE: frozenset({_A, _B, _BB}),
}
# What the bank (its staff in the back office, its systems through the API) may
# do beyond the cardholder's column: lift its own block.
BANK_ONLY_STATES: dict[str, frozenset[str]] = {
    Operation.UNBLOCK: frozenset({_BB}),
}


class OperationNotAllowed(DomainError):
    """The card's state or product does not allow the operation."""

    code = "operation_not_allowed"


def acts_for_bank(actor: Actor) -> bool:
    """Does ``actor`` act for the bank (staff, the bank's systems) rather than for the cardholder?"""
    return actor.type in {ActorType.STAFF, ActorType.SYSTEM, ActorType.API_CLIENT}


def block_reason_for(actor: Actor) -> str:
    """A block by the bank is the bank's (the cardholder cannot lift it); any other is the cardholder's own."""
    return StatusReason.BLOCKED_BY_BANK if acts_for_bank(actor) else StatusReason.BLOCKED_BY_CUSTOMER


def cancel_reasons_for(actor: Actor) -> tuple[StatusReason, ...]:
    """The cancellation reasons ``actor`` may give: the bank's list for the bank, the cardholder's otherwise."""
    return STAFF_CANCEL_REASONS if acts_for_bank(actor) else CUSTOMER_CANCEL_REASONS


def card_state(card: Card, *, now: dt.datetime | None = None) -> str:
    """The card's state for the table, as it holds ``now`` (default: the current time).

    A cancellation (stored, or a lapsed 60-day block) wins over expiry; a block
    is the cardholder's or the bank's.
    """
    now = now or timezone.now()
    status = card.status_now(now)
    if status.status == CardStatus.CANCELLED:
        return CardState.CANCELLED
    if card.is_expired(timezone.localdate(now)):
        return CardState.EXPIRED
    if status.status == CardStatus.BLOCKED and status.reason == StatusReason.BLOCKED_BY_BANK:
        return CardState.BLOCKED_BY_BANK
    return status.status


def state_allows(state: str, operation: str, *, by_bank: bool = False) -> bool:
    """The table itself: does a card in ``state`` allow ``operation`` (to the cardholder, or to the bank)?"""
    if state in ALLOWED_STATES[operation]:
        return True
    return by_bank and state in BANK_ONLY_STATES.get(operation, frozenset())


def _state_reason(card: Card, state: str, operation: str) -> str:
    if state == CardState.CANCELLED:
        if card.status == CardStatus.BLOCKED:  # a lapsed block the daily job has not written down yet
            return _(
                "The card was blocked for more than 60 days, so it is now cancelled: it cannot be unblocked "
                "or used any more."
            )
        return _("The card is cancelled: no operation is possible.")
    if state == CardState.EXPIRED:
        return _("The card has expired: no operation is possible.")
    if state == CardState.INACTIVE:
        return _("Activate the card first.")
    if operation == Operation.ACTIVATE:
        return _("The card is already activated.")
    if state == CardState.BLOCKED_BY_BANK:
        if operation == Operation.BLOCK:
            return _("The card is already blocked.")
        return _("The bank has blocked the card, so only the bank can unblock it. Call the helpline: %(phone)s.") % {
            # The issuing bank's own line (the group's when it has none, or for a card not yet issued).
            "phone": helpline(card.bank if card.bank_id is not None else None).service
        }
    if state == CardState.BLOCKED:
        if operation == Operation.BLOCK:
            return _("The card is already blocked.")
        return _("The card is temporarily blocked: unblock it first.")
    if operation == Operation.UNBLOCK:
        return _("The card is not blocked.")
    return _("This operation is not possible for the card now.")


def operation_refusal(
    card: Card, operation: str, *, now: dt.datetime | None = None, by_bank: bool = False
) -> str | None:
    """Why ``operation`` is refused for ``card`` (state first, then product), or None when allowed."""
    state = card_state(card, now=now)
    if not state_allows(state, operation, by_bank=by_bank):
        return _state_reason(card, state, operation)
    if operation in {Operation.CONTACTLESS_OFF, Operation.CONTACTLESS_ON} and not card.product.contactless_capable:
        return _("This card does not support contactless payments.")
    if operation == Operation.LIMITS_CHANGE and card.product.segment == Segment.BUSINESS:
        return _("The limits of a business card are set by your company with the bank.")
    return None


def operation_allowed(card: Card, operation: str, *, now: dt.datetime | None = None, by_bank: bool = False) -> bool:
    """True when the card's state (and product) allow ``operation``."""
    return operation_refusal(card, operation, now=now, by_bank=by_bank) is None


def require_operation(card: Card, operation: str, *, now: dt.datetime | None = None, by_bank: bool = False) -> None:
    """Raise OperationNotAllowed, with the reason to show, unless ``operation`` is allowed."""
    reason = operation_refusal(card, operation, now=now, by_bank=by_bank)
    if reason is not None:
        raise OperationNotAllowed(reason)


def operations_table_markdown() -> str:
    """The table as docs/card-operations.md shows it (the docs test compares the two)."""

    def cell(state: str, operation: str) -> str:
        if state_allows(state, operation):
            return "yes"
        return "bank only" if state_allows(state, operation, by_bank=True) else "—"

    header = "| operation | " + " | ".join(STATES) + " |"
    rule = "|---|" + "---|" * len(STATES)
    rows = [f"| `{operation}` | " + " | ".join(cell(s, operation) for s in STATES) + " |" for operation in OPERATIONS]
    return "\n".join([header, rule, *rows])
