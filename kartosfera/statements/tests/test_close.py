"""The statement close: periods, figures, charges, interest, idempotency and the message (docs/statements.md)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
import time_machine

from kartosfera.accounts.models import AccountKind
from kartosfera.cards.credit_terms import nbp_reference_rate_record
from kartosfera.cards.models import Funding
from kartosfera.core.crypto import decrypt
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.models import OutboundSms
from kartosfera.processing.models import Channel, Posting, PostingKind
from kartosfera.processing.selectors import posting_history
from kartosfera.statements.close import account_statements_close, due_accounts, statements_close
from kartosfera.statements.models import FeeReason, InterestRule, Statement
from kartosfera.statements.tests.helpers import at, credit_card, pay_by_card, repay, spend
from kartosfera.testing import factories
from kartosfera.testing.factories import SYSTEM

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


def test_a_cash_withdrawal_and_a_foreign_payment_are_charged_the_products_fees_on_the_statement():
    cc = credit_card(opened=D(2026, 9, 1))
    atm = pay_by_card(cc, 20_000, D(2026, 9, 2), channel=Channel.ATM, mcc="6011", merchant="Euronet")
    big_atm = pay_by_card(cc, 100_000, D(2026, 9, 3), channel=Channel.ATM, mcc="6011", merchant="Euronet")
    foreign = pay_by_card(cc, 10_000, D(2026, 9, 4), currency="EUR", billing_amount_minor=43_125, merchant="FNAC")
    pay_by_card(cc, 5_000, D(2026, 9, 5))

    [statement] = close(D(2026, 9, 10))

    fees = {line.posting.bank_reference: line for line in statement.lines.filter(kind=PostingKind.FEE)}
    assert {ref: -line.balance_change_minor for ref, line in fees.items()} == {
        f"STMT-20260910-CASH-{atm.pk}": 1_000,  # 3 % of 200.00 is 6.00: the 10.00 minimum
        f"STMT-20260910-CASH-{big_atm.pk}": 3_000,  # 3 % of 1,000.00
        f"STMT-20260910-FX-{foreign.pk}": 863,  # 2 % of 431.25 = 8.625 -> 8.63
    }
    by_reason = {line.description: line.merchant_name for line in fees.values()}
    assert by_reason == {FeeReason.CASH_WITHDRAWAL: "Euronet", FeeReason.CONVERSION: "FNAC"}
    assert statement.fees_minor == 4_863
    assert statement.debits_minor == 20_000 + 100_000 + 43_125 + 5_000 + 4_863
    foreign_line = statement.lines.get(posting=foreign)
    assert foreign_line.fx_rate == Decimal("4.3125")  # 431.25 PLN for 100.00 EUR (no rate from the scheme)
    assert (foreign_line.amount_minor, foreign_line.currency, foreign_line.balance_change_minor) == (
        10_000,
        "EUR",
        -43_125,
    )
    cc.refresh()
    assert cc.account.balance_minor == statement.closing_balance_minor


def test_no_fee_without_the_products_fee_and_none_on_a_refund():
    cc = credit_card(opened=D(2026, 9, 1), fx_markup_percent=Decimal("0"))
    pay_by_card(cc, 10_000, D(2026, 9, 4), currency="EUR", billing_amount_minor=43_125)
    [statement] = close(D(2026, 9, 10))
    assert statement.fees_minor == 0
    assert not Posting.objects.filter(kind=PostingKind.FEE).exists()


def test_a_posting_dated_in_a_closed_period_but_booked_after_its_close_goes_on_the_next_statement():
    cc = credit_card(opened=D(2026, 9, 1))
    close(D(2026, 9, 10))
    late = repay(cc, 7_000, D(2026, 9, 9), booked=D(2026, 9, 12))
    statements = close(D(2026, 10, 10))
    assert statements[0].lines.count() == 0
    assert list(statements[1].lines.values_list("posting_id", flat=True)) == [late.pk]
    assert statements[1].closing_balance_minor == 7_000


def test_the_grace_period_still_running_at_the_next_close_means_no_interest_yet():
    cc = credit_card(opened=D(2026, 8, 1), grace_period_days=45)
    spend(cc, 100_000, D(2026, 8, 5))
    close(D(2026, 8, 10))
    second = close(D(2026, 9, 10))[-1]
    assert second.interest_rule == InterestRule.GRACE_RUNNING
    assert second.interest_minor == 0


def test_nothing_owed_means_no_interest_and_no_message():
    cc = credit_card(opened=D(2026, 8, 1), balance_minor=50_000)
    spend(cc, 10_000, D(2026, 8, 5))
    first = close(D(2026, 8, 10))[-1]
    assert first.closing_balance_minor == 40_000 and first.minimum_payment_minor == 0
    second = close(D(2026, 9, 10))[-1]
    assert second.interest_rule == InterestRule.NOTHING_OWED
    assert not OutboundSms.objects.filter(purpose="statements.statement_closed").exists()


def test_interest_is_daily_on_the_balance_owed_through_the_period_at_the_product_rate():
    # 18.25 %: a day's interest on 3,650.00 is 1.825 PLN; on 1,825.00 it is 0.9125 PLN.
    cc = credit_card(opened=D(2026, 8, 1), grace_period_days=20, interest_rate_percent=Decimal("18.25"))
    spend(cc, 365_000, D(2026, 8, 5))
    close(D(2026, 8, 10))  # owes 3,650.00, due 31 Aug
    repay(cc, 182_500, D(2026, 9, 1))  # late and partial
    second = close(D(2026, 9, 10))[-1]
    # 11-31 Aug: 21 days x 1.825; 1-10 Sep: 10 days x 0.9125 = 38.325 + 9.125 = 47.45.
    assert second.interest_minor == 4_745
    assert second.snapshot["interest"] == {"rule": "charged", "days_charged": 31, "rates_percent": ["18.25"]}
    [line] = second.lines.filter(kind=PostingKind.INTEREST)
    assert line.posting_date == D(2026, 9, 10)


def test_interest_is_capped_by_the_legal_maximum_of_each_day_when_the_reference_rate_falls():
    nbp_reference_rate_record(actor=SYSTEM, valid_from=D(2026, 9, 1), rate_percent=Decimal("4.00"))
    cc = credit_card(opened=D(2026, 8, 1), grace_period_days=20, interest_rate_percent=Decimal("18.25"))
    spend(cc, 365_000, D(2026, 8, 5))
    close(D(2026, 8, 10))
    second = close(D(2026, 9, 10))[-1]
    # 11-31 Aug at 18.25 % (under the 18.50 % maximum): 21 x 1.825 = 38.325; 1-10 Sep at the new 15.00 %
    # maximum: 10 x 1.50 = 15.00. Total 53.325 -> 53.33.
    assert second.interest_minor == 5_333
    assert second.snapshot["interest"]["rates_percent"] == ["15.00", "18.25"]


def test_an_account_without_a_card_is_not_due_and_one_without_terms_fails_alone():
    customer = factories.customer_factory()
    with time_machine.travel(at(D(2026, 9, 1)), tick=False):
        factories.account_factory(customer=customer, kind=AccountKind.CREDIT)
        no_terms = factories.card_factory(customer=customer, product=factories.product_factory(funding=Funding.CREDIT))
    fine = credit_card(opened=D(2026, 9, 1))
    with time_machine.travel(at(D(2026, 9, 11)), tick=False):
        summary = statements_close(as_of=D(2026, 9, 10))
    assert summary.accounts == 2 and summary.statements == 1
    assert list(summary.failures) == [no_terms.account.reference]
    assert Statement.objects.get().account == fine.account


def test_the_card_history_shows_the_statements_charges_to_the_accounts_owner():
    cc = credit_card(opened=D(2026, 9, 1))
    pay_by_card(cc, 20_000, D(2026, 9, 2), channel=Channel.ATM, mcc="6011")
    close(D(2026, 9, 10))
    kinds = set(posting_history(customer=cc.account.customer, card=cc.card).values_list("kind", flat=True))
    assert PostingKind.FEE in kinds


def test_a_statement_closes_under_the_accounts_lock_with_its_audit_row_and_nothing_if_it_fails(monkeypatch):
    cc = credit_card(opened=D(2026, 9, 1))
    pay_by_card(cc, 20_000, D(2026, 9, 2), channel=Channel.ATM, mcc="6011")

    def broken(*args, **kwargs):
        raise RuntimeError("the SMS gateway's outbox is broken")

    monkeypatch.setattr("kartosfera.statements.close.sms_send_many", broken)
    with time_machine.travel(at(D(2026, 9, 11)), tick=False), pytest.raises(RuntimeError):
        account_statements_close(account=cc.account, as_of=D(2026, 9, 10))
    # Nothing half-written: no statement, no fee posting, no audit row, the balance untouched.
    assert not Statement.objects.exists()
    assert not Posting.objects.filter(kind=PostingKind.FEE).exists()
    assert not AuditEvent.objects.filter(action="statements.statement.closed").exists()
    assert cc.refresh().balance_minor == -20_000


@pytest.mark.parametrize(
    ("value_date", "rule"),
    [
        (D(2026, 8, 31), InterestRule.REPAID_IN_FULL),  # on the due date
        (D(2026, 9, 1), InterestRule.CHARGED),  # a day late
        (D(2026, 8, 9), InterestRule.REPAID_IN_FULL),  # dated before the statement, booked after its close
    ],
)
def test_a_repayment_counts_by_its_value_date_up_to_and_including_the_due_date(value_date, rule):
    cc = credit_card(opened=D(2026, 8, 1), grace_period_days=20)
    spend(cc, 100_000, D(2026, 8, 5))
    close(D(2026, 8, 10))
    repay(cc, 100_000, value_date, booked=max(value_date, D(2026, 8, 12)))
    second = close(D(2026, 9, 10))[-1]
    assert second.interest_rule == rule
    assert (second.interest_minor > 0) is (rule == InterestRule.CHARGED)
