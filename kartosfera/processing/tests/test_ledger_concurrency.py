"""Real concurrent connections on PostgreSQL: the bank's postings and the card scheme's clearing share one balance."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Sum

from kartosfera.accounts.models import AccountKind
from kartosfera.core.models import AuditEvent
from kartosfera.processing.clearing import RecordOutcome, clearing_post_record
from kartosfera.processing.ledger import Direction, bank_posting_record, repayment_record
from kartosfera.processing.models import Posting, PostingKind
from kartosfera.processing.tests.helpers import PROCESSOR, active_card, decide
from kartosfera.processing.tests.test_clearing import record
from kartosfera.processing.tests.test_ledger import BANK
from kartosfera.testing import factories
from kartosfera.testing.concurrency import run_together

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
]
BALANCE = 1_000_000


@pytest.mark.django_db(transaction=True)
def test_the_banks_postings_racing_card_clearings_lose_no_movement():
    """Under the one account lock: no clearing is undone by a bank posting computed beside it, nor the reverse."""
    tc = active_card(balance_minor=BALANCE)
    account = tc.account
    authorizations = [decide(tc, amount_minor=10_000).authorization for _ in range(8)]
    operations = []
    for i, authorization in enumerate(authorizations):
        operations.append(
            lambda a=authorization: clearing_post_record(
                actor=PROCESSOR, record=record(network_transaction_id=a.network_transaction_id, amount_minor=9_000)
            )
        )
        operations.append(
            lambda i=i: bank_posting_record(
                actor=BANK,
                account=account,
                reference=f"TRN-RACE-{i}",
                direction=Direction.CREDIT if i % 2 else Direction.DEBIT,
                amount_minor=1_000 * (i + 1),
                currency="PLN",
            )
        )

    results = run_together(*operations)

    assert all(r.outcome == RecordOutcome.POSTED for r in results[0::2])
    assert all(r.created for r in results[1::2])
    account.refresh_from_db()
    bank_total = sum(1_000 * (i + 1) * (1 if i % 2 else -1) for i in range(8))
    assert account.balance_minor == BALANCE - 8 * 9_000 + bank_total
    posted = Posting.objects.filter(account=account).aggregate(total=Sum("balance_change_minor"))["total"]
    assert account.balance_minor == account.opening_balance_minor + posted
    assert account.held_minor == 0


@pytest.mark.django_db(transaction=True)
def test_one_posting_sent_twice_at_once_moves_the_balance_once():
    tc = active_card(balance_minor=BALANCE)
    account = tc.account

    results = run_together(
        *(
            lambda: bank_posting_record(
                actor=BANK,
                account=account,
                reference="TRN-TWICE",
                direction="credit",
                amount_minor=7_000,
                currency="PLN",
            )
            for _ in range(4)
        )
    )

    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.posting.pk for r in results}) == 1
    account.refresh_from_db()
    assert account.balance_minor == BALANCE + 7_000


@pytest.mark.django_db(transaction=True)
def test_one_repayment_sent_twice_at_once_is_booked_once():
    """Two connections post the same repayment at the same moment: the account lock lets one book it."""
    customer = factories.customer_factory()
    account = factories.account_factory(customer=customer, kind=AccountKind.CREDIT, balance_minor=-100_000)

    results = run_together(
        *(
            lambda: repayment_record(
                actor=BANK, account=account, reference="SPL-TWICE", amount_minor=40_000, currency="PLN"
            )
            for _ in range(2)
        )
    )

    assert sorted(r.created for r in results) == [False, True]
    assert len({r.posting.pk for r in results}) == 1
    account.refresh_from_db()
    assert account.balance_minor == -60_000
    assert Posting.objects.filter(account=account, kind=PostingKind.REPAYMENT).count() == 1
    assert AuditEvent.objects.filter(action="processing.repayment.posted").count() == 1
