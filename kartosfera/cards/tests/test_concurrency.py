"""Real concurrent connections on PostgreSQL: the row lock keeps the machine sound."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from kartosfera.cards.models import Card
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.errors import InvalidTransition
from kartosfera.testing.factories import card_factory, customer_factory, product_factory

SYSTEM = Actor.system("tests")

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
]


def _run_together(*operations):
    barrier = threading.Barrier(len(operations))
    outcomes: list[str] = [""] * len(operations)

    def worker(index, operation):
        try:
            barrier.wait()
            operation()
            outcomes[index] = "done"
        except InvalidTransition:
            outcomes[index] = "refused"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, op)) for i, op in enumerate(operations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_a_block_racing_a_cancellation_never_reopens_a_cancelled_card():
    customer = customer_factory()
    product = product_factory()
    for _ in range(10):
        card = card_factory(customer=customer, product=product)
        card = card_transition(actor=SYSTEM, card=card, to_status=CardStatus.ACTIVE, reason=StatusReason.ACTIVATED)
        outcomes = _run_together(
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
