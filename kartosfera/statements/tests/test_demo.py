"""The demo's credit cards start with months of statements, closed by the real close as the simulated days passed.

scripts/demo.sh loads the demo banks and runs ``simulate_card_traffic --days DEMO_HISTORY_DAYS --statements``;
this test does the same and reads what a holder would find (kartosfera/statements/demo.py).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.core.models import AuditEvent
from kartosfera.demo.bank import DEMO_HISTORY_DAYS, account_reference, demo_bank_load
from kartosfera.notifications.models import OutboundSms
from kartosfera.processing.models import Posting, PostingKind
from kartosfera.processing.simulation import DAY_START
from kartosfera.statements.demo import DEMO_REPAYMENT_HABITS, repayment_amount, repayment_day
from kartosfera.statements.models import FeeReason, InterestRule, Statement, StatementLine

pytestmark = pytest.mark.django_db


def simulate(days: int) -> str:
    out = io.StringIO()
    call_command("simulate_card_traffic", "--days", str(days), "--per-day", "0.4", "--statements", stdout=out)
    return out.getvalue()


def statements_of(number: int) -> list[Statement]:
    return list(Statement.objects.filter(account__reference=account_reference(number)).order_by("period_end"))


def test_the_demo_starts_with_three_statements_of_each_credit_card_that_add_up_and_show_each_rule():
    demo_bank_load()
    output = simulate(DEMO_HISTORY_DAYS)
    assert "statement closes failed: 0" in output

    yesterday = timezone.localdate() - dt.timedelta(days=1)
    credit = list(Account.objects.filter(kind=AccountKind.CREDIT).order_by("pk"))
    assert {account.reference for account in credit} == {account_reference(n) for n in DEMO_REPAYMENT_HABITS}
    for account in credit:
        statements = list(account.statements.order_by("period_end"))
        assert len(statements) >= 3, account.reference
        # The periods follow each other from the day the account was opened, up to yesterday at most.
        assert statements[0].period_start == timezone.localdate(account.created_at)
        assert statements[0].opening_balance_minor == account.opening_balance_minor
        for earlier, later in itertools.pairwise(statements):
            assert later.period_start == earlier.period_end + dt.timedelta(days=1)
            assert later.opening_balance_minor == earlier.closing_balance_minor
        assert statements[-1].period_end <= yesterday
        for statement in statements:
            # Closed in the night after its statement date, as the days passed: not all at once at the end.
            assert timezone.localtime(statement.closed_at) == timezone.make_aware(
                dt.datetime.combine(statement.period_end + dt.timedelta(days=1), DAY_START)
            )
            lines = statement.lines.aggregate(total=Sum("balance_change_minor"))["total"] or 0
            assert statement.closing_balance_minor == statement.opening_balance_minor + lines
            # A statement shows its period's postings only: the next morning's clearing is the next one's.
            assert not statement.lines.filter(posting_date__gt=statement.period_end).exists()
        # Every posting is on one statement at most, and the balance is the last closing plus what came after.
        shown = StatementLine.objects.filter(statement__account=account)
        assert shown.count() == shown.values("posting").distinct().count()
        later = Posting.objects.filter(account=account).exclude(statement_lines__isnull=False)
        after = later.aggregate(total=Sum("balance_change_minor"))["total"] or 0
        account.refresh_from_db()
        assert account.balance_minor == statements[-1].closing_balance_minor + after

    # Anna repays in full before the due date: no interest, ever.
    anna = statements_of(2)
    assert {s.interest_rule for s in anna[1:]} == {InterestRule.REPAID_IN_FULL}
    assert sum(s.interest_minor for s in anna) == 0
    for earlier, later in itertools.pairwise(anna):
        assert later.repayments_minor == earlier.owed_minor > 0
    # Paweł pays the minimum and Piotr pays it late: interest on every statement after the first.
    for number in (8, 18):
        statements = statements_of(number)
        assert {s.interest_rule for s in statements[1:]} == {InterestRule.CHARGED}, number
        assert all(s.interest_minor > 0 for s in statements[1:]), number
        assert statements[1].repayments_minor == statements[0].minimum_payment_minor
    # A statement after one that left nothing owed charges nothing (Katarzyna's card, blocked by the bank, often).
    for number in DEMO_REPAYMENT_HABITS:
        statements = statements_of(number)
        for earlier, later in itertools.pairwise(statements):
            if earlier.owed_minor == 0:
                assert (later.interest_rule, later.interest_minor) == (InterestRule.NOTHING_OWED, 0)

    # The repayments went through the bank's posting, one per statement whose day has come, with its audit row.
    due = {
        f"DEMO-REPAY-{statement.number}": repayment_amount(statement, habit)
        for number, habit in DEMO_REPAYMENT_HABITS.items()
        for statement in statements_of(number)
        if repayment_amount(statement, habit) > 0 and repayment_day(statement, habit) <= timezone.localdate()
    }
    repayments = Posting.objects.filter(kind=PostingKind.REPAYMENT)
    assert dict(repayments.values_list("bank_reference", "amount_minor")) == due
    assert len(due) >= 5  # at least the first statement of every holder who owes
    assert AuditEvent.objects.filter(action="processing.repayment.posted").count() == len(due)

    # The simulated traffic's cash withdrawals and converted payments were charged their fees.
    fees = StatementLine.objects.filter(kind=PostingKind.FEE)
    assert {FeeReason.CASH_WITHDRAWAL, FeeReason.CONVERSION} <= set(fees.values_list("description", flat=True))
    for line in fees.select_related("statement"):
        assert line.posting_date == line.statement.period_end
    # And every holder who owes something was told by SMS.
    owing = [s for s in Statement.objects.all() if s.owed_minor > 0]
    assert OutboundSms.objects.filter(purpose="statements.statement_closed").count() == len(owing)

    # Run again, as `make demo` does on the same database: more traffic, nothing closed or repaid twice.
    before = (Statement.objects.count(), repayments.count())
    again = simulate(40)
    assert "statements closed: 0" in again and "repayments posted: 0" in again
    assert (Statement.objects.count(), repayments.count()) == before
