from __future__ import annotations

import datetime as dt

import pytest

from kartosfera.cards.models import Card, CardProduct
from kartosfera.cards.states import CardStatus
from kartosfera.portal.presenters import ContactlessState, DisplayStatus, contactless_state, display_status

TODAY = dt.date(2026, 11, 21)


@pytest.mark.parametrize(
    ("status", "expiry", "expected"),
    [
        (CardStatus.ACTIVE, dt.date(2026, 11, 30), DisplayStatus.ACTIVE),
        (CardStatus.ACTIVE, dt.date(2026, 11, 21), DisplayStatus.ACTIVE),  # valid through its last day
        (CardStatus.ACTIVE, dt.date(2026, 10, 31), DisplayStatus.EXPIRED),
        (CardStatus.BLOCKED, dt.date(2026, 10, 31), DisplayStatus.EXPIRED),
        (CardStatus.INACTIVE, dt.date(2026, 10, 31), DisplayStatus.EXPIRED),
        (CardStatus.BLOCKED, dt.date(2027, 1, 31), DisplayStatus.BLOCKED),
        (CardStatus.CANCELLED, dt.date(2026, 10, 31), DisplayStatus.CANCELLED),
        (CardStatus.CANCELLED, dt.date(2027, 1, 31), DisplayStatus.CANCELLED),
    ],
)
def test_display_status_derives_expiry_from_the_date_but_never_hides_a_cancellation(status, expiry, expected):
    assert display_status(Card(status=status, expiry=expiry), today=TODAY) == expected


@pytest.mark.parametrize(
    ("capable", "enabled", "expected"),
    [
        (True, True, ContactlessState.ON),
        (True, False, ContactlessState.OFF),
        (False, False, ContactlessState.UNAVAILABLE),
    ],
)
def test_contactless_state(capable, enabled, expected):
    card = Card(product=CardProduct(contactless_capable=capable), contactless_enabled=enabled)

    assert contactless_state(card, status=DisplayStatus.ACTIVE) == expected


@pytest.mark.parametrize("status", [DisplayStatus.CANCELLED, DisplayStatus.EXPIRED])
def test_contactless_does_not_apply_to_a_card_that_cannot_pay(status):
    card = Card(product=CardProduct(contactless_capable=True), contactless_enabled=True)

    assert contactless_state(card, status=status) == ContactlessState.NOT_APPLICABLE
