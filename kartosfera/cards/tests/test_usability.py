"""card_usability: one answer to "can this card pay now, and if not, why"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kartosfera.cards.operations_services import card_activate, card_block_temporarily, card_cancel
from kartosfera.cards.pin import PIN_TRY_LIMIT
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.cards.usability import Unusable, card_usability
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType
from kartosfera.testing.factories import SYSTEM

pytestmark = pytest.mark.django_db
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")


def test_an_active_card_is_usable(card):
    card = card_activate(actor=SYSTEM, card=card)
    usability = card_usability(card)
    assert usability.usable and usability.reason is None and not usability.pin_blocked


def test_an_inactive_card_is_not_activated(card):
    assert card_usability(card).reason == Unusable.NOT_ACTIVATED


def test_the_holders_block_and_the_banks_block_are_told_apart(card):
    card = card_activate(actor=SYSTEM, card=card)
    card = card_block_temporarily(actor=HOLDER, card=card)
    assert card_usability(card).reason == Unusable.BLOCKED_BY_HOLDER
    # Past 60 days the holder's block reads as a cancellation.
    assert card_usability(card, now=timezone.now() + dt.timedelta(days=61)).reason == Unusable.CANCELLED
    card.status_reason = StatusReason.BLOCKED_BY_BANK
    assert card_usability(card).reason == Unusable.BLOCKED_BY_BANK
    assert card_usability(card, now=timezone.now() + dt.timedelta(days=400)).reason == Unusable.BLOCKED_BY_BANK


@pytest.mark.parametrize(
    ("reason", "unusable"),
    [
        (StatusReason.LOST, Unusable.LOST),
        (StatusReason.STOLEN, Unusable.STOLEN),
        (StatusReason.OTHER, Unusable.CANCELLED),
    ],
)
def test_a_cancellation_says_lost_stolen_or_cancelled(card, reason, unusable):
    card = card_cancel(actor=HOLDER, card=card_activate(actor=SYSTEM, card=card), reason=reason)
    assert card_usability(card).reason == unusable


def test_expiry_comes_first_in_the_reason_and_the_state_still_shows(card):
    card = card_transition(actor=SYSTEM, card=card, to_status=CardStatus.CANCELLED, reason=StatusReason.LOST)
    after = timezone.make_aware(dt.datetime.combine(card.expiry + dt.timedelta(days=1), dt.time(12)))
    usability = card_usability(card, now=after)
    assert (usability.expired, usability.reason, usability.blocked_by, usability.state) == (
        True,
        Unusable.EXPIRED,
        Unusable.LOST,
        "cancelled",
    )


def test_the_pin_is_blocked_at_the_try_limit(card):
    card = card_activate(actor=SYSTEM, card=card)
    card.wrong_pin_count = PIN_TRY_LIMIT - 1
    assert not card_usability(card).pin_blocked
    card.wrong_pin_count = PIN_TRY_LIMIT
    usability = card_usability(card)
    assert usability.pin_blocked and usability.usable  # payments without a PIN still work
