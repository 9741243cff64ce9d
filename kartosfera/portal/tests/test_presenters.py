from __future__ import annotations

import datetime as dt

import pytest

from kartosfera.cards.controls import CASH, INTERNET, LimitControl
from kartosfera.cards.models import Card, CardProduct
from kartosfera.cards.operations import CardState as DisplayStatus
from kartosfera.cards.operations import card_state
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.money import Money
from kartosfera.portal.presenters import (
    ContactlessState,
    MobilePaymentsState,
    contactless_state,
    mobile_payments_state,
)

TODAY = dt.date(2026, 11, 21)
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


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
    card = Card(status=status, status_reason=StatusReason.BLOCKED_BY_CUSTOMER, expiry=expiry, status_changed_at=NOW)
    assert card_state(card, now=NOW) == expected


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


@pytest.mark.parametrize("status", [DisplayStatus.CANCELLED, DisplayStatus.EXPIRED])
def test_mobile_payments_do_not_show_as_active_on_a_card_that_cannot_pay(status):
    card = Card(mobile_payments_enabled=True)

    assert mobile_payments_state(card, status=status) == MobilePaymentsState.NOT_APPLICABLE
    assert mobile_payments_state(card, status=DisplayStatus.ACTIVE) == MobilePaymentsState.ACTIVE


def test_an_internet_limit_of_zero_says_internet_payments_are_off():
    def row(definition, minor):
        return LimitControl(
            definition=definition, amount=Money(minor, "PLN"), maximum=Money(100, "PLN"), ceiling=Money(100, "PLN")
        )

    zero, some, cash = row(INTERNET, 0), row(INTERNET, 1), row(CASH, 0)

    assert zero.note == "Płatności internetowe są wyłączone: ustaw limit, aby płacić w internecie."
    assert some.note == cash.note == ""
