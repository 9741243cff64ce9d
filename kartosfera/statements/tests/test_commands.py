"""``manage.py close_statements``, the daily task and ``manage.py nbp_reference_rate``."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from kartosfera.cards.credit_terms import interest_rate_legal_max, reference_rate_on
from kartosfera.cards.models import Funding, NbpReferenceRate
from kartosfera.core.models import AuditEvent
from kartosfera.statements.models import Statement
from kartosfera.statements.tasks import statements_close_task
from kartosfera.statements.tests.helpers import at, credit_card, spend
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db
D = dt.date


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_command_closes_whats_due_by_the_date_and_prints_a_summary():
    cc = credit_card(opened=D(2026, 9, 1))
    spend(cc, 5_000, D(2026, 9, 2))
    with time_machine.travel(at(D(2026, 10, 20)), tick=False):
        output = run("close_statements", "--date", "2026-10-10", "--workers", "1")
        again = run("close_statements", "--date", "2026-10-10", "--workers", "1")
    assert "1 account(s)" in output and "Closed 2 statement(s) of 1 account(s)" in output and "0 failed" in output
    assert "Closed 0 statement(s) of 0 account(s)" in again
    assert Statement.objects.count() == 2


def test_the_command_defaults_to_yesterday():
    credit_card(opened=D(2026, 9, 1))
    with time_machine.travel(at(D(2026, 9, 11)), tick=False):
        run("close_statements", "--workers", "1")
    assert Statement.objects.get().period_end == D(2026, 9, 10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "10.09.2026"], "YYYY-MM-DD"),
        (["--date", "2026-09-11"], "before today"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_the_command_refuses_a_bad_date_or_worker_count(args, message):
    with time_machine.travel(at(D(2026, 9, 11)), tick=False), pytest.raises(CommandError, match=message):
        run("close_statements", *args)


def test_the_command_fails_when_an_account_could_not_be_closed_and_names_it():
    customer = factories.customer_factory()
    with time_machine.travel(at(D(2026, 9, 1)), tick=False):
        card = factories.card_factory(customer=customer, product=factories.product_factory(funding=Funding.CREDIT))
    err = io.StringIO()
    with time_machine.travel(at(D(2026, 9, 11)), tick=False), pytest.raises(CommandError, match="1 account"):
        call_command("close_statements", "--workers", "1", stdout=io.StringIO(), stderr=err)
    assert card.account.reference in err.getvalue()


def test_the_daily_task_closes_yesterdays_statements():
    credit_card(opened=D(2026, 9, 1))
    with time_machine.travel(at(D(2026, 9, 11)), tick=False):
        assert statements_close_task.call() == 1
        assert statements_close_task.call() == 0


# --- the NBP reference rate -----------------------------------------------------------------------------


def test_a_recorded_reference_rate_change_moves_the_legal_maximum_from_its_day(settings):
    settings.NBP_REFERENCE_RATE_PERCENT, settings.NBP_REFERENCE_RATE_SINCE = Decimal("5.75"), D(2023, 10, 5)
    with time_machine.travel(at(D(2026, 9, 1)), tick=False):
        output = run("nbp_reference_rate", "--since", "2026-10-01", "--percent", "4.00")
    assert "2023-10-05    5.75 %" in output and "2026-10-01    4.00 %  (maximum interest 15.00 %)" in output
    assert reference_rate_on(D(2026, 9, 30)) == Decimal("5.75")
    assert reference_rate_on(D(2026, 10, 1)) == Decimal("4.00")
    assert reference_rate_on(D(2020, 1, 1)) == Decimal("5.75")  # before the first known: the earliest known
    assert interest_rate_legal_max(D(2026, 10, 1)) == Decimal("15.00")
    event = AuditEvent.objects.get(action="cards.nbp_reference_rate.recorded")
    assert event.after == {"valid_from": "2026-10-01", "rate_percent": "4.00"}
    # The same again changes nothing; another rate for the same day is refused.
    with time_machine.travel(at(D(2026, 9, 1)), tick=False):
        run("nbp_reference_rate", "--since", "2026-10-01", "--percent", "4.00")
        with pytest.raises(CommandError, match="inną stopę"):
            run("nbp_reference_rate", "--since", "2026-10-01", "--percent", "4.25")
    assert NbpReferenceRate.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-10-01"], "both"),
        (["--since", "1.10.2026", "--percent", "4"], "YYYY-MM-DD"),
        (["--since", "2026-10-01", "--percent", "four"], "decimal"),
        (["--since", "2026-10-01", "--percent", "51"], "od 0 do 50"),  # in Polish, the default language
        (["--since", "2026-10-01", "--percent", "4.001"], "2 miejscami"),
    ],
)
def test_the_reference_rate_command_refuses_bad_input_with_a_message(args, message):
    with pytest.raises(CommandError, match=message):
        run("nbp_reference_rate", *args)
    assert not NbpReferenceRate.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_daily_task_closes_through_each_production_queue_and_returns_its_count(task_queue):
    # Opened 70 days ago, billed on the 10th: periods have ended by yesterday (how many depends on today).
    opened = timezone.localdate() - dt.timedelta(days=70)
    cc = credit_card(opened=opened)
    spend(cc, 5_000, opened + dt.timedelta(days=1))
    task_queue.work()  # whatever opening the account queued

    first = statements_close_task.enqueue()
    task_queue.work()
    again = statements_close_task.enqueue()
    task_queue.work()

    first.refresh()
    again.refresh()
    closed = Statement.objects.filter(account=cc.account).count()
    assert closed >= 1 and first.return_value == closed
    assert again.return_value == 0  # idempotent: nothing more is due
    assert Statement.objects.filter(account=cc.account).order_by("period_end").last().period_end < timezone.localdate()
