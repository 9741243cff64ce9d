"""The card status machine (PRODUCT.md "States").

    inactive ──activate──▶ active ◀──unblock── blocked
        │                    │ ──block──────────▶ │
        └───────cancel───────┴──────cancel────────┴──▶ cancelled (final)

Expiry is not a status: it is derived from the date, and an expired card may
only be cancelled.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CardStatus(models.TextChoices):
    INACTIVE = "inactive", _("Inactive")
    ACTIVE = "active", _("Active")
    BLOCKED = "blocked", _("Temporarily blocked")
    CANCELLED = "cancelled", _("Cancelled")


class StatusReason(models.TextChoices):
    # Why the card reached its current status; the last change only (history is in the audit log).
    ISSUED = "issued", _("Issued")
    RENEWAL_ISSUED = "renewal_issued", _("Renewal issued")
    REPLACEMENT_ISSUED = "replacement_issued", _("Replacement issued")
    ACTIVATED = "activated", _("Activated")
    BLOCKED_BY_CUSTOMER = "blocked_by_customer", _("Blocked by the cardholder")
    BLOCKED_BY_BANK = "blocked_by_bank", _("Blocked by the bank")
    UNBLOCKED = "unblocked", _("Unblocked")
    # Cancellation (zastrzeżenie) reasons:
    LOST = "lost", _("Lost")
    STOLEN = "stolen", _("Stolen")
    MISUSE = "misuse", _("Misuse")
    PIN_DISCLOSED = "pin_disclosed", _("PIN disclosed")
    OTHER = "other", _("Other")
    RENEWED = "renewed", _("Replaced by the renewed card")
    REPLACED = "replaced", _("Replaced by a new card")
    BLOCK_EXPIRED = "block_expired", _("Temporary block not lifted within 60 days")
    # Cancellation reasons of the bank's staff (the back office), beside lost and stolen:
    HOLDER_REQUEST = "holder_request", _("At the cardholder's request")
    COMPROMISED = "compromised", _("Card data compromised")
    FRAUD_SUSPECTED = "fraud_suspected", _("Fraud suspected")
    BANK_DECISION = "bank_decision", _("Bank decision")


CANCEL_REASONS = frozenset(
    {
        StatusReason.LOST,
        StatusReason.STOLEN,
        StatusReason.MISUSE,
        StatusReason.PIN_DISCLOSED,
        StatusReason.OTHER,
        StatusReason.RENEWED,
        StatusReason.REPLACED,
        StatusReason.BLOCK_EXPIRED,
        StatusReason.HOLDER_REQUEST,
        StatusReason.COMPROMISED,
        StatusReason.FRAUD_SUSPECTED,
        StatusReason.BANK_DECISION,
    }
)
# The reasons a cardholder may choose when cancelling a card themselves.
CUSTOMER_CANCEL_REASONS = (
    StatusReason.LOST,
    StatusReason.STOLEN,
    StatusReason.MISUSE,
    StatusReason.PIN_DISCLOSED,
    StatusReason.OTHER,
)
# The reasons bank staff choose when they cancel a card (a call to the blocking
# line, a branch visit, the bank's fraud team): what the bank needs to record,
# which is not what a cardholder says about their own card (issue 9, point 18).
STAFF_CANCEL_REASONS = (
    StatusReason.HOLDER_REQUEST,
    StatusReason.LOST,
    StatusReason.STOLEN,
    StatusReason.COMPROMISED,
    StatusReason.FRAUD_SUSPECTED,
    StatusReason.BANK_DECISION,
)

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    CardStatus.INACTIVE: frozenset({CardStatus.ACTIVE, CardStatus.CANCELLED}),
    CardStatus.ACTIVE: frozenset({CardStatus.BLOCKED, CardStatus.CANCELLED}),
    CardStatus.BLOCKED: frozenset({CardStatus.ACTIVE, CardStatus.CANCELLED}),
    CardStatus.CANCELLED: frozenset(),
}

# Which reasons may accompany a move into each status.
REASONS_FOR_TARGET: dict[str, frozenset[str]] = {
    CardStatus.ACTIVE: frozenset({StatusReason.ACTIVATED, StatusReason.UNBLOCKED}),
    CardStatus.BLOCKED: frozenset({StatusReason.BLOCKED_BY_CUSTOMER, StatusReason.BLOCKED_BY_BANK}),
    CardStatus.CANCELLED: CANCEL_REASONS,
}


def is_transition_allowed(current: str, target: str) -> bool:
    return target in ALLOWED_TRANSITIONS[current]
