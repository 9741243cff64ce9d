"""The statement close: periods, figures, charges, interest, idempotency and the message (docs/statements.md)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine

from kartosfera.core.crypto import decrypt
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.models import OutboundSms
from kartosfera.processing.models import Posting, PostingKind
from kartosfera.statements.close import account_statements_close, due_accounts, statements_close
from kartosfera.statements.models import InterestRule, Statement
from kartosfera.statements.tests.helpers import at, credit_card, repay, spend

pytestmark = pytest.mark.django_db
D = dt.date


def close(as_of: dt.date) -> list[Statement]:
    with time_machine.travel(at(as_of + dt.timedelta(days=1), 2), tick=False):
        statements_close(as_of=as_of)
    return list(Statement.objects.order_by("period_end", "id"))


def test_the_first_statement_runs_from_the_opening_day_to_the_billing_day_and_adds_up():
    cc = credit_card(opened=D(2026, 9, 3), billing_day=10, balance_minor=0)
    spend(cc, 12_345, D(2026, 9, 5))
    spend(cc, 100_00, D(2026, 9, 10))
    spend(cc, 1_00, D(2026, 9, 11))  # the next period's

    [statement] = close(D(2026, 9, 10))

    assert (statement.period_start, statement.period_end) == (D(2026, 9, 3), D(2026, 9, 10))
    assert statement.opening_balance_minor == 0
    assert statement.debits_minor == 22_345
    assert statement.closing_balance_minor == -22_345
    assert statement.interest_rule == InterestRule.FIRST_STATEMENT
    assert statement.interest_minor == 0
    # 5 % of 223.45 is 11.17, below the 50.00 minimum.
    assert statement.minimum_payment_minor == 5_000
    # 10 Sep + 25 days = 5 Oct 2026, a Monday.
    assert statement.due_date == D(2026, 10, 5)
    assert [line.balance_change_minor for line in statement.lines.all()] == [-12_345, -10_000]
    assert statement.snapshot["holder"]["name"] == cc.account.customer.full_name
    assert AuditEvent.objects.filter(action="statements.statement.closed", object_id=str(statement.pk)).exists()
    [sms] = OutboundSms.objects.filter(purpose="statements.statement_closed")
    text = decrypt(sms.text_ciphertext)
    assert "223,45" in text and "05.10.2026" in text, text


def test_a_close_run_again_issues_nothing_twice():
    cc = credit_card(opened=D(2026, 9, 3))
    spend(cc, 5_000, D(2026, 9, 4))
    close(D(2026, 9, 10))
    close(D(2026, 9, 10))
    assert Statement.objects.count() == 1
    assert due_accounts(D(2026, 9, 10)).count() == 0


def test_missed_periods_are_closed_in_order_and_chain_their_balances():
    cc = credit_card(opened=D(2026, 8, 1))
    spend(cc, 10_000, D(2026, 8, 2))
    spend(cc, 20_000, D(2026, 8, 20))
    repay(cc, 10_000, D(2026, 9, 1))
    statements = close(D(2026, 10, 12))
    assert [s.period_end for s in statements] == [D(2026, 8, 10), D(2026, 9, 10), D(2026, 10, 10)]
    for earlier, later in itertools.pairwise(statements):
        assert later.opening_balance_minor == earlier.closing_balance_minor
        assert later.period_start == earlier.period_end + dt.timedelta(days=1)
    cc.refresh()
    assert statements[-1].closing_balance_minor == cc.account.balance_minor


def test_interest_is_charged_when_the_previous_statement_was_not_repaid_in_full_by_its_due_date():
    cc = credit_card(opened=D(2026, 8, 1), grace_period_days=20)
    spend(cc, 100_000, D(2026, 8, 5))
    [first] = close(D(2026, 8, 10))
    assert first.due_date == D(2026, 8, 31)
    repay(cc, 99_999, D(2026, 8, 31))  # one grosz short
    second = close(D(2026, 9, 10))[-1]
    assert second.interest_rule == InterestRule.CHARGED
    assert second.interest_minor > 0
    assert Posting.objects.filter(kind=PostingKind.INTEREST, account=cc.account).count() == 1


def test_no_interest_when_the_previous_statement_was_repaid_in_full_by_its_due_date():
    cc = credit_card(opened=D(2026, 8, 1), grace_period_days=20)
    spend(cc, 100_000, D(2026, 8, 5))
    close(D(2026, 8, 10))
    repay(cc, 100_000, D(2026, 8, 31))
    second = close(D(2026, 9, 10))[-1]
    assert second.interest_rule == InterestRule.REPAID_IN_FULL
    assert second.interest_minor == 0


def test_account_close_directly_closes_each_due_period():
    cc = credit_card(opened=D(2026, 9, 1))
    with time_machine.travel(at(D(2026, 11, 20)), tick=False):
        closed = account_statements_close(account=cc.account, as_of=D(2026, 11, 19))
    assert len(closed) == 3
