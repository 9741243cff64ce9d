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
    operation_allowed,
    operation_refusal,
    operations_table_markdown,
    require_operation,
)
from kartosfera.cards.states import CardStatus

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def in_english():
    # The reasons are checked in their English source; the Polish ones are checked by the page tests.
    with translation.override("en"):
        yield


# Written out by hand, from PRODUCT.md, rather than derived from the code under test.
Y, N = True, False
EXPECTED: dict[str, dict[str, bool]] = {
    #                           inactive active blocked cancelled expired
    "activate": dict(zip(STATES, (Y, N, N, N, N), strict=True)),
    "block": dict(zip(STATES, (N, Y, N, N, N), strict=True)),
    "unblock": dict(zip(STATES, (N, N, Y, N, N), strict=True)),
    "cancel": dict(zip(STATES, (Y, Y, Y, N, N), strict=True)),
    "contactless_off": dict(zip(STATES, (N, Y, Y, N, N), strict=True)),
    "contactless_on": dict(zip(STATES, (N, Y, Y, N, N), strict=True)),
    "limits_change": dict(zip(STATES, (N, Y, N, N, N), strict=True)),
    "pin_change": dict(zip(STATES, (N, Y, N, N, N), strict=True)),
    "mobile_payments_activate": dict(zip(STATES, (N, Y, N, N, N), strict=True)),
    "threeds": dict(zip(STATES, (N, Y, N, N, N), strict=True)),
}


def _card(state: str, *, contactless_capable: bool = True, segment: str = Segment.INDIVIDUAL) -> Card:
    product = CardProduct(code="P", name="Visa", contactless_capable=contactless_capable, segment=segment)
    if state == "expired":
        # Active by status, but past its expiry date: "expired" is derived.
        return Card(product=product, status=CardStatus.ACTIVE, expiry=TODAY - dt.timedelta(days=1))
    return Card(product=product, status=state, expiry=TODAY + dt.timedelta(days=365))


def test_the_table_lists_every_operation_and_state():
    assert set(EXPECTED) == set(OPERATIONS)
    assert STATES == ("inactive", "active", "blocked", "cancelled", "expired")


@pytest.mark.parametrize(("operation", "state"), [(op, state) for op in OPERATIONS for state in STATES])
def test_every_cell_of_the_table(operation, state):
    card = _card(state)
    expected = EXPECTED[operation][state]

    assert operation_allowed(card, operation, today=TODAY) is expected
    if expected:
        require_operation(card, operation, today=TODAY)
    else:
        with pytest.raises(OperationNotAllowed) as refused:
            require_operation(card, operation, today=TODAY)
        assert refused.value.message  # a reason to show, never an empty refusal
        assert refused.value.code == "operation_not_allowed"


def test_an_expired_blocked_card_allows_nothing():
    card = _card("blocked")
    card.expiry = TODAY - dt.timedelta(days=1)
    assert not any(operation_allowed(card, op, today=TODAY) for op in OPERATIONS)


def test_a_cancelled_card_past_its_expiry_counts_as_cancelled():
    card = _card("cancelled")
    card.expiry = TODAY - dt.timedelta(days=1)
    assert operation_refusal(card, "cancel", today=TODAY) == "The card is cancelled: no operation is possible."


@pytest.mark.parametrize("operation", ["contactless_on", "contactless_off"])
def test_contactless_needs_a_capable_product(operation):
    card = _card("active", contactless_capable=False)
    assert operation_refusal(card, operation, today=TODAY) == "This card does not support contactless payments."


def test_a_business_card_cannot_change_its_limits_but_may_block():
    card = _card("active", segment=Segment.BUSINESS)
    assert operation_refusal(card, "limits_change", today=TODAY) == (
        "The limits of a business card are set by your company with the bank."
    )
    assert operation_allowed(card, "block", today=TODAY)


def test_a_blocked_card_cannot_change_limits_and_says_why():
    assert operation_refusal(_card("blocked"), "limits_change", today=TODAY) == (
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
        assert [c == "yes" for c in cells[1:]] == [EXPECTED[operation][s] for s in STATES]
