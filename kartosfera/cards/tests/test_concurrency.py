"""Real concurrent connections on PostgreSQL: the row lock keeps the machine sound."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import (
    card_activate,
    card_block_expire_due,
    card_block_temporarily,
    card_cancel,
    card_unblock,
)
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.testing.concurrency import run_together
from kartosfera.testing.factories import card_factory, customer_factory, product_factory

SYSTEM = Actor.system("tests")
# The cardholder's own block (the bank's would not lapse after 60 days).
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
]


def _race(*operations):
    """Run the operations at the same moment in threads; each ends "done" or "refused"."""
    outcomes = run_together(*operations, expected=(DomainError,))
    return ["refused" if isinstance(outcome, DomainError) else "done" for outcome in outcomes]


@pytest.mark.django_db(transaction=True)
def test_a_block_racing_a_cancellation_never_reopens_a_cancelled_card():
    customer = customer_factory()
    product = product_factory()
    for _ in range(10):
        card = card_factory(customer=customer, product=product)
        card = card_transition(actor=SYSTEM, card=card, to_status=CardStatus.ACTIVE, reason=StatusReason.ACTIVATED)
        outcomes = _race(
            lambda c=card: card_transition(
                actor=SYSTEM, card=c, to_status=CardStatus.CANCELLED, reason=StatusReason.STOLEN
            ),
            lambda c=card: card_transition(
                actor=SYSTEM, card=c, to_status=CardStatus.BLOCKED, reason=StatusReason.BLOCKED_BY_CUSTOMER
            ),
        )
        card.refresh_from_db()
        assert outcomes[0] == "done"
        assert outcomes[1] in {"done", "refused"}
        assert card.status == CardStatus.CANCELLED, outcomes
    assert Card.objects.filter(status=CardStatus.BLOCKED).count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_unblock_racing_a_cancellation_never_reopens_a_cancelled_card():
    customer = customer_factory()
    product = product_factory()
    for _ in range(10):
        card = card_activate(actor=SYSTEM, card=card_factory(customer=customer, product=product))
        card_block_temporarily(actor=HOLDER, card=card)
        outcomes = _race(
            lambda c=card: card_cancel(actor=SYSTEM, card=c, reason=StatusReason.LOST),
            lambda c=card: card_unblock(actor=SYSTEM, card=c),
        )
        card.refresh_from_db()
        assert outcomes[0] == "done", outcomes
        assert card.status == CardStatus.CANCELLED, outcomes
        # The audit trail tells the same story as the card: the unblock ran first or was refused.
        actions = list(
            AuditEvent.objects.filter(object_id=str(card.pk)).order_by("id").values_list("action", flat=True)
        )
        assert actions[-1] in {"cards.card.cancelled", "cards.card.operation_refused"}
        assert actions.count("cards.card.cancelled") == 1


@pytest.mark.django_db(transaction=True)
def test_a_customer_block_racing_a_cancellation_ends_cancelled():
    customer = customer_factory()
    product = product_factory()
    for _ in range(10):
        card = card_activate(actor=SYSTEM, card=card_factory(customer=customer, product=product))
        outcomes = _race(
            lambda c=card: card_block_temporarily(actor=HOLDER, card=c, note="race"),
            lambda c=card: card_cancel(actor=SYSTEM, card=c, reason=StatusReason.STOLEN),
        )
        card.refresh_from_db()
        assert outcomes[1] == "done", outcomes
        assert card.status == CardStatus.CANCELLED, outcomes


@pytest.mark.django_db(transaction=True)
def test_two_expiry_runs_at_once_cancel_each_card_once():
    customer = customer_factory()
    product = product_factory()
    long_ago = timezone.now() - dt.timedelta(days=61)
    cards = [card_activate(actor=SYSTEM, card=card_factory(customer=customer, product=product)) for _ in range(6)]
    with time_machine.travel(long_ago, tick=False):
        for card in cards:
            card_block_temporarily(actor=HOLDER, card=card)
    counts: list[int] = []
    _race(
        lambda: counts.append(card_block_expire_due(batch_size=2)),
        lambda: counts.append(card_block_expire_due(batch_size=2)),
    )
    assert sum(counts) == 6
    assert AuditEvent.objects.filter(action="cards.card.cancelled").count() == 6
