"""The operations table: every cell, the reasons, and the docs' copy of it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from kartosfera.cards.models import Card, CardProduct, Segment
from kartosfera.cards.operations import (
    OPERATIONS,
    STATES,
    OperationNotAllowed,
    card_state,
    operation_allowed,
    operation_refusal,
    operations_table_markdown,
    require_operation,
)
from kartosfera.cards.states import CardStatus, StatusReason

TODAY = dt.date(2026, 6, 15)
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def in_english():
    # The reasons are checked in their English source; the Polish ones are checked by the page tests.
    with translation.override("en"):
        yield


# Written out by hand, from PRODUCT.md and issue 9, rather than derived from the code under test.
# "B" = refused to the cardholder, allowed to the bank (staff, the bank's systems).
Y, N, B = True, False, "bank"
EXPECTED: dict[str, dict[str, bool | str]] = {
    #                           inactive active blocked by_bank cancelled expired
    "activate": dict(zip(STATES, (Y, N, N, N, N, N), strict=True)),
    "block": dict(zip(STATES, (N, Y, N, N, N, N), strict=True)),
    "unblock": dict(zip(STATES, (N, N, Y, B, N, N), strict=True)),
    "cancel": dict(zip(STATES, (Y, Y, Y, Y, N, N), strict=True)),
    "contactless_off": dict(zip(STATES, (N, Y, Y, Y, N, N), strict=True)),
    "contactless_on": dict(zip(STATES, (N, Y, Y, Y, N, N), strict=True)),
    "limits_change": dict(zip(STATES, (N, Y, N, N, N, N), strict=True)),
    "pin_change": dict(zip(STATES, (N, Y, N, N, N, N), strict=True)),
    "mobile_payments_activate": dict(zip(STATES, (N, Y, N, N, N, N), strict=True)),
    "mobile_payments_deactivate": dict(zip(STATES, (Y, Y, Y, Y, N, N), strict=True)),
    "threeds": dict(zip(STATES, (N, Y, N, N, N, N), strict=True)),
    # Issue 15: the finer controls are preferences, settable on a blocked card like contactless.
    "controls_change": dict(zip(STATES, (N, Y, Y, Y, N, N), strict=True)),
}


def _card(state: str, *, contactless_capable: bool = True, segment: str = Segment.INDIVIDUAL) -> Card:
    product = CardProduct(code="P", name="Visa", contactless_capable=contactless_capable, segment=segment)
    valid = TODAY + dt.timedelta(days=365)
    changed = NOW - dt.timedelta(days=3)
    if state == "expired":
        # Active by status, but past its expiry date: "expired" is derived.
        return Card(product=product, status=CardStatus.ACTIVE, expiry=TODAY - dt.timedelta(days=1))
    if state == "blocked":
        return Card(
            product=product,
            status=CardStatus.BLOCKED,
            status_reason=StatusReason.BLOCKED_BY_CUSTOMER,
            status_changed_at=changed,
            expiry=valid,
        )
    if state == "blocked_by_bank":
        return Card(
            product=product,
            status=CardStatus.BLOCKED,
            status_reason=StatusReason.BLOCKED_BY_BANK,
            status_changed_at=changed,
            expiry=valid,
        )
    return Card(product=product, status=state, status_changed_at=changed, expiry=valid)


def test_the_table_lists_every_operation_and_state():
    assert set(EXPECTED) == set(OPERATIONS)
    assert STATES == ("inactive", "active", "blocked", "blocked_by_bank", "cancelled", "expired")


def _check_cell(card: Card, operation: str, expected: bool, *, by_bank: bool) -> None:
    assert operation_allowed(card, operation, now=NOW, by_bank=by_bank) is expected
    if expected:
        require_operation(card, operation, now=NOW, by_bank=by_bank)
    else:
        with pytest.raises(OperationNotAllowed) as refused:
            require_operation(card, operation, now=NOW, by_bank=by_bank)
        assert refused.value.message  # a reason to show, never an empty refusal
        assert refused.value.code == "operation_not_allowed"


@pytest.mark.parametrize(("operation", "state"), [(op, state) for op in OPERATIONS for state in STATES])
def test_every_cell_of_the_table_for_the_cardholder(operation, state):
    _check_cell(_card(state), operation, EXPECTED[operation][state] is Y, by_bank=False)


@pytest.mark.parametrize(("operation", "state"), [(op, state) for op in OPERATIONS for state in STATES])
def test_every_cell_of_the_table_for_the_bank(operation, state):
    _check_cell(_card(state), operation, EXPECTED[operation][state] in {Y, B}, by_bank=True)


def test_the_cardholder_is_told_whom_to_call_to_lift_a_bank_block(settings):
    settings.HELPLINE_PHONE = "+48 86 215 50 00"
    assert operation_refusal(_card("blocked_by_bank"), "unblock", now=NOW) == (
        "The bank has blocked the card, so only the bank can unblock it. Call the helpline: +48 86 215 50 00."
    )


def test_a_cardholders_block_turns_into_a_cancellation_after_60_days_without_the_job():
    card = _card("blocked")
    card.status_changed_at = NOW - dt.timedelta(days=60)

    assert card_state(card, now=NOW - dt.timedelta(seconds=1)) == "blocked"
    assert card_state(card, now=NOW) == "cancelled"
    assert not any(operation_allowed(card, op, now=NOW, by_bank=True) for op in OPERATIONS)
    assert operation_refusal(card, "unblock", now=NOW) == (
        "The card was blocked for more than 60 days, so it is now cancelled: it cannot be unblocked or used any more."
    )
    status = card.status_now(NOW)
    assert (status.status, status.reason, status.changed_at) == ("cancelled", "block_expired", NOW)


def test_a_bank_block_does_not_lapse_after_60_days():
    card = _card("blocked_by_bank")
    card.status_changed_at = NOW - dt.timedelta(days=400)

    assert card_state(card, now=NOW) == "blocked_by_bank"
    assert card.block_expires_at() is None
    assert operation_allowed(card, "unblock", now=NOW, by_bank=True)


def test_an_expired_blocked_card_allows_nothing():
    card = _card("blocked")
    card.expiry = TODAY - dt.timedelta(days=1)
    assert not any(operation_allowed(card, op, now=NOW) for op in OPERATIONS)


def test_a_cancelled_card_past_its_expiry_counts_as_cancelled():
    card = _card("cancelled")
    card.expiry = TODAY - dt.timedelta(days=1)
    assert operation_refusal(card, "cancel", now=NOW) == "The card is cancelled: no operation is possible."


@pytest.mark.parametrize("operation", ["contactless_on", "contactless_off"])
def test_contactless_needs_a_capable_product(operation):
    card = _card("active", contactless_capable=False)
    assert operation_refusal(card, operation, now=NOW) == "This card does not support contactless payments."


def test_a_business_card_cannot_change_its_limits_but_may_block():
    card = _card("active", segment=Segment.BUSINESS)
    assert operation_refusal(card, "limits_change", now=NOW) == (
        "The limits of a business card are set by your company with the bank."
    )
    assert operation_allowed(card, "block", now=NOW)


def test_a_blocked_card_cannot_change_limits_and_says_why():
    assert operation_refusal(_card("blocked"), "limits_change", now=NOW) == (
        "The card is temporarily blocked: unblock it first."
    )


def test_the_docs_table_is_the_codes_table():
    text = (Path(settings.BASE_DIR) / "docs" / "card-operations.md").read_text()
    match = re.search(r"<!-- operations-table:start -->\n(.*?)\n<!-- operations-table:end -->", text, re.S)
    assert match, "docs/card-operations.md lost its table markers"
    assert match.group(1) == operations_table_markdown()


def test_the_docs_table_says_what_the_hand_written_table_says():
    lines = operations_table_markdown().splitlines()[2:]
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        operation = cells[0].strip("`")
        words = {Y: "yes", B: "bank only", N: "—"}
        assert cells[1:] == [words[EXPECTED[operation][s]] for s in STATES]
