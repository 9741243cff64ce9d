"""The close's charges booked at once, and two workers sharing a close on real PostgreSQL connections."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, Sum

from kartosfera.core.errors import ValidationFailed
from kartosfera.processing.ledger import (
    PostingReferenceConflict,
    StatementCharge,
    StatementCharges,
    statement_charges_book,
)
from kartosfera.processing.models import Posting, PostingKind
from kartosfera.statements.close import close_worker
from kartosfera.statements.models import Statement
from kartosfera.statements.tests.helpers import at, credit_card, spend
from kartosfera.testing.concurrency import run_together

D = dt.date


@pytest.mark.django_db
def test_a_statements_charges_are_booked_at_once_in_order_and_found_again_not_twice():
    cc = credit_card(opened=D(2026, 9, 1), balance_minor=-10_000)

    def book(charges: list[StatementCharge]) -> list[Posting]:
        [postings] = statement_charges_book(
            bookings=[StatementCharges(account=cc.account, charges=charges, booking_date=D(2026, 9, 10))],
            now=at(D(2026, 9, 11)),
        )
        return postings

    charges = [
        StatementCharge(reference="STMT-20260910-CASH-1", kind=PostingKind.FEE, amount_minor=1_000, description="ATM"),
        StatementCharge(
            reference="STMT-20260910-INTEREST", kind=PostingKind.INTEREST, amount_minor=250, description=""
        ),
    ]
    with time_machine.travel(at(D(2026, 9, 11), 2), tick=False):
        first = book(charges)
        again = book(charges)
        assert [p.kind for p in first] == [PostingKind.FEE, PostingKind.INTEREST]
        assert [p.pk for p in again] == [p.pk for p in first]
        assert cc.refresh().balance_minor == -10_000 - 1_250
        assert [(p.balance_change_minor, p.processing_date) for p in first] == [
            (-1_000, D(2026, 9, 10)),
            (-250, D(2026, 9, 10)),
        ]
        # Other content under a charge's reference is a conflict, and nothing of the call is booked.
        changed = [
            charges[0],
            StatementCharge(
                reference="STMT-20260910-INTEREST", kind=PostingKind.INTEREST, amount_minor=251, description=""
            ),
        ]
        with pytest.raises(PostingReferenceConflict):
            book(changed)
        with pytest.raises(ValueError, match="not statement charges"):
            book([StatementCharge(reference="X", kind=PostingKind.BANK_DEBIT, amount_minor=1, description="")])
        with pytest.raises(ValidationFailed):
            book([StatementCharge(reference="Y", kind=PostingKind.FEE, amount_minor=0, description="")])
    assert Posting.objects.filter(account=cc.account).count() == 2
    assert cc.refresh().balance_minor == -11_250


@pytest.mark.django_db
def test_the_charges_of_many_accounts_are_booked_with_one_insert_and_one_update_of_the_balances(
    django_assert_num_queries,
):
    owing = [credit_card(opened=D(2026, 9, 1), balance_minor=-10_000 * n) for n in range(1, 4)]
    bookings = [
        StatementCharges(
            account=cc.account,
            charges=[
                StatementCharge(
                    reference="STMT-20260910-INTEREST", kind=PostingKind.INTEREST, amount_minor=100 * n, description=""
                )
            ],
            booking_date=D(2026, 9, 10),
        )
        for n, cc in enumerate(owing, 1)
    ]
    # One look-up of the references, one insert of the postings, one update of the balances.
    with time_machine.travel(at(D(2026, 9, 11), 2), tick=False), django_assert_num_queries(3):
        booked = statement_charges_book(bookings=bookings, now=at(D(2026, 9, 11)))
    assert [[p.balance_change_minor for p in postings] for postings in booked] == [[-100], [-200], [-300]]
    assert [cc.refresh().balance_minor for cc in owing] == [-10_100, -20_200, -30_300]


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
@pytest.mark.django_db(transaction=True)
def test_two_workers_close_every_account_once_between_them():
    accounts = []
    for n in range(12):
        cc = credit_card(opened=D(2026, 8, 20), billing_day=10)
        spend(cc, 1_000 * (n + 1), D(2026, 8, 25))
        spend(cc, 500, D(2026, 9, 5))
        accounts.append(cc.account)

    def worker() -> object:
        return close_worker(as_of=D(2026, 10, 12), now=at(D(2026, 10, 13), 2))

    with time_machine.travel(at(D(2026, 10, 13), 2), tick=True):
        first, second = run_together(worker, worker)

    # Two periods each (to 10 Sep and to 10 Oct), every one closed once, by one worker or the other.
    per_account = Statement.objects.values("account").annotate(n=Count("id"))
    assert {row["account"]: row["n"] for row in per_account} == {account.pk: 2 for account in accounts}
    assert first.statements + second.statements == 24
    assert first.accounts + second.accounts == 12
    assert not first.failures and not second.failures
    for account in accounts:
        account.refresh_from_db()
        latest = Statement.objects.filter(account=account).order_by("-period_end").first()
        assert latest is not None
        assert latest.closing_balance_minor == account.balance_minor
        total = Posting.objects.filter(account=account).aggregate(total=Sum("balance_change_minor"))["total"]
        assert account.balance_minor == account.opening_balance_minor + total
