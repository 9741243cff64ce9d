"""Real concurrent connections on PostgreSQL: a reversal racing its clearing leaves the books consistent."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Sum

from kartosfera.processing.adjustments import authorization_reverse
from kartosfera.processing.clearing import RecordOutcome, clearing_post_batch, clearing_post_record
from kartosfera.processing.models import Authorization, AuthorizationStatus, DailySpend, Posting
from kartosfera.processing.tests.helpers import PROCESSOR, active_card, decide
from kartosfera.processing.tests.test_clearing import record
from kartosfera.testing.concurrency import run_together

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
]
BALANCE = 1_000_000


@pytest.mark.django_db(transaction=True)
def test_reversals_racing_their_clearings_leave_balance_holds_and_counters_consistent():
    tc = active_card(balance_minor=BALANCE)
    authorizations = [decide(tc, amount_minor=10_000).authorization for _ in range(10)]
    operations = []
    for i, authorization in enumerate(authorizations):
        operations.append(
            lambda a=authorization, i=i: authorization_reverse(
                actor=PROCESSOR, authorization_id=a.processor_id, reversal_id=f"race-rev-{i}"
            )
        )
        operations.append(
            lambda a=authorization: clearing_post_record(
                actor=PROCESSOR, record=record(network_transaction_id=a.network_transaction_id, amount_minor=9_000)
            )
        )
    results = run_together(*operations)
    assert all(r.outcome == RecordOutcome.POSTED for r in results[1::2])

    account = tc.account
    assert account.held_minor == 0  # each hold left once: by its reversal or by its clearing, never twice
    assert account.balance_minor == BALANCE - 10 * 9_000
    assert Posting.objects.filter(account=account).aggregate(s=Sum("balance_change_minor"))["s"] == -90_000
    assert set(Authorization.objects.filter(card=tc.card).values_list("status", flat=True)) == {
        AuthorizationStatus.SETTLED
    }
    # The day counts the cleared amounts (the hold each replaced is gone, whichever came first).
    assert DailySpend.objects.get(card=tc.card, group="noncash").amount_minor == 90_000
    for authorization, result in zip(authorizations, results[1::2], strict=True):
        authorization.refresh_from_db()
        reversal = authorization.adjustments.get()
        # The reversal released the hold only if it came first; then the clearing is flagged as after it.
        assert (reversal.amount_minor == 10_000) == result.posting.needs_review
        assert reversal.amount_minor + result.posting.released_minor == 10_000


@pytest.mark.django_db(transaction=True)
def test_one_batch_sent_twice_at_once_posts_each_record_once():
    tc = active_card(balance_minor=BALANCE)
    records = [record(pan=tc.pan, expiry=tc.card.expiry, amount_minor=1_000 + i) for i in range(20)]
    first, second = run_together(*(lambda: clearing_post_batch(actor=PROCESSOR, records=records) for _ in range(2)))
    outcomes = [(a.outcome, b.outcome) for a, b in zip(first, second, strict=True)]
    assert all(sorted(pair) == ["duplicate", "posted"] for pair in outcomes)
    assert Posting.objects.count() == 20
    assert tc.account.balance_minor == BALANCE - sum(1_000 + i for i in range(20))
