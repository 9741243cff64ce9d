"""Which cardholder operation each card state allows: ONE table, read by services, views and docs.

The state is the card's display state: the stored status, except that a card
past its expiry date counts as ``expired`` (a cancellation wins over expiry).
docs/card-operations.md holds the same table; a test keeps the two equal
(``operations_table_markdown`` writes it).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from kartosfera.cards.models import Segment
from kartosfera.cards.states import CardStatus
from kartosfera.core.errors import DomainError

if TYPE_CHECKING:
    from kartosfera.cards.models import Card


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
    THREEDS = "threeds"


class CardState:
    """The states of the table: the four stored statuses plus the derived ``expired``."""

    INACTIVE = CardStatus.INACTIVE.value
    ACTIVE = CardStatus.ACTIVE.value
    BLOCKED = CardStatus.BLOCKED.value
    CANCELLED = CardStatus.CANCELLED.value
    EXPIRED = "expired"


STATES: tuple[str, ...] = (
    CardState.INACTIVE,
    CardState.ACTIVE,
    CardState.BLOCKED,
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
    Operation.THREEDS,
)

_I, _A, _B = CardState.INACTIVE, CardState.ACTIVE, CardState.BLOCKED

# PRODUCT.md "Cards": an inactive card allows only activation and cancellation;
# a blocked one cannot change its limits or PIN (nor join a phone wallet: a
# temporary block stops token payments too); a cancelled or expired card allows
# nothing. Contactless stays switchable on a blocked card: it is a preference
# the cardholder may want set before unblocking, and moves no money by itself.
ALLOWED_STATES: dict[str, frozenset[str]] = {
    Operation.ACTIVATE: frozenset({_I}),
    Operation.BLOCK: frozenset({_A}),
    Operation.UNBLOCK: frozenset({_B}),
    Operation.CANCEL: frozenset({_I, _A, _B}),
    Operation.CONTACTLESS_OFF: frozenset({_A, _B}),
    Operation.CONTACTLESS_ON: frozenset({_A, _B}),
    Operation.LIMITS_CHANGE: frozenset({_A}),
    Operation.PIN_CHANGE: frozenset({_A}),
    Operation.MOBILE_PAYMENTS_ACTIVATE: frozenset({_A}),
    Operation.THREEDS: frozenset({_A}),
}


class OperationNotAllowed(DomainError):
    """The card's state or product does not allow the operation."""

    code = "operation_not_allowed"


def card_state(card: Card, *, today: dt.date | None = None) -> str:
    """The card's state for the table: its status, or ``expired`` past the expiry date."""
    if card.status == CardStatus.CANCELLED:
        return CardState.CANCELLED
    if card.is_expired(today):
        return CardState.EXPIRED
    return card.status


def state_allows(state: str, operation: str) -> bool:
    """The table itself: does a card in ``state`` allow ``operation``?"""
    return state in ALLOWED_STATES[operation]


def _state_reason(state: str, operation: str) -> str:
    if state == CardState.CANCELLED:
        return _("The card is cancelled: no operation is possible.")
    if state == CardState.EXPIRED:
        return _("The card has expired: no operation is possible.")
    if state == CardState.INACTIVE:
        return _("Activate the card first.")
    if operation == Operation.ACTIVATE:
        return _("The card is already activated.")
    if state == CardState.BLOCKED:
        if operation == Operation.BLOCK:
            return _("The card is already blocked.")
        return _("The card is temporarily blocked: unblock it first.")
    if operation == Operation.UNBLOCK:
        return _("The card is not blocked.")
    return _("This operation is not possible for the card now.")


def operation_refusal(card: Card, operation: str, *, today: dt.date | None = None) -> str | None:
    """Why ``operation`` is refused for ``card`` (state first, then product), or None when allowed."""
    state = card_state(card, today=today)
    if not state_allows(state, operation):
        return _state_reason(state, operation)
    if operation in {Operation.CONTACTLESS_OFF, Operation.CONTACTLESS_ON} and not card.product.contactless_capable:
        return _("This card does not support contactless payments.")
    if operation == Operation.LIMITS_CHANGE and card.product.segment == Segment.BUSINESS:
        return _("The limits of a business card are set by your company with the bank.")
    return None


def operation_allowed(card: Card, operation: str, *, today: dt.date | None = None) -> bool:
    """True when the card's state (and product) allow ``operation``."""
    return operation_refusal(card, operation, today=today) is None


def require_operation(card: Card, operation: str, *, today: dt.date | None = None) -> None:
    """Raise OperationNotAllowed, with the reason to show, unless ``operation`` is allowed."""
    reason = operation_refusal(card, operation, today=today)
    if reason is not None:
        raise OperationNotAllowed(reason)


def operations_table_markdown() -> str:
    """The table as docs/card-operations.md shows it (the docs test compares the two)."""
    header = "| operation | " + " | ".join(STATES) + " |"
    rule = "|---|" + "---|" * len(STATES)
    rows = [
        f"| `{operation}` | " + " | ".join("yes" if state_allows(s, operation) else "—" for s in STATES) + " |"
        for operation in OPERATIONS
    ]
    return "\n".join([header, rule, *rows])
