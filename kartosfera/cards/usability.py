"""Can this card be used for a payment now, and if not, why: ONE answer for the card page, back office and card core.

Built on the card's effective state (``cards/operations.py: card_state``, which
reads ``Card.status_now``: a cardholder's block past 60 days is a cancellation)
and on the PIN tries. Expiry is told apart from the state because the decision
pipeline checks it first (docs/processing.md, "Pipeline"): a card that is both
expired and cancelled is refused as expired there, and shown as cancelled on the
card page, which reads ``state``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

from kartosfera.cards.operations import CardState
from kartosfera.cards.pin import PIN_TRY_LIMIT
from kartosfera.cards.states import CardStatus, StatusReason

if TYPE_CHECKING:
    from kartosfera.cards.models import Card


class Unusable:
    """Why a card cannot be used: stable codes (the card core's decline reasons use the same words)."""

    EXPIRED = "card_expired"
    NOT_ACTIVATED = "card_not_activated"
    BLOCKED_BY_HOLDER = "card_blocked_by_holder"
    BLOCKED_BY_BANK = "card_blocked_by_bank"
    LOST = "card_lost"
    STOLEN = "card_stolen"
    CANCELLED = "card_cancelled"


@dataclass(frozen=True)
class Usability:
    """The card's usability at one moment.

    ``expired``: past the last day of its expiry month (Warsaw date).
    ``blocked_by``: the state's reason the card cannot pay (an ``Unusable`` code), or None.
    ``pin_blocked``: the PIN is blocked after PIN_TRY_LIMIT wrong PINs (payments without a PIN still work).
    """

    state: str
    expired: bool
    blocked_by: str | None
    pin_blocked: bool

    @property
    def usable(self) -> bool:
        return not self.expired and self.blocked_by is None

    @property
    def reason(self) -> str | None:
        """The one reason a payment is refused, in the pipeline's order (expiry first), or None."""
        return Unusable.EXPIRED if self.expired else self.blocked_by


def _blocked_by(card: Card, now: dt.datetime) -> str | None:
    status = card.status_now(now)
    if status.status == CardStatus.CANCELLED:
        if status.reason == StatusReason.LOST:
            return Unusable.LOST
        if status.reason == StatusReason.STOLEN:
            return Unusable.STOLEN
        return Unusable.CANCELLED
    if status.status == CardStatus.INACTIVE:
        return Unusable.NOT_ACTIVATED
    if status.status == CardStatus.BLOCKED:
        return Unusable.BLOCKED_BY_BANK if status.reason == StatusReason.BLOCKED_BY_BANK else Unusable.BLOCKED_BY_HOLDER
    return None


def card_usability(card: Card, *, now: dt.datetime | None = None) -> Usability:
    """Whether ``card`` can pay at ``now`` (default: the current time), and why not."""
    from kartosfera.cards.operations import card_state

    now = now or timezone.now()
    state = card_state(card, now=now)
    return Usability(
        state=state,
        expired=card.is_expired(timezone.localdate(now)),
        blocked_by=_blocked_by(card, now),
        pin_blocked=card.wrong_pin_count >= PIN_TRY_LIMIT,
    )


__all__ = ["CardState", "Unusable", "Usability", "card_usability"]
