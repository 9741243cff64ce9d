"""The close in parallel processes and killed half-way, on PostgreSQL with real connections (docs/statements.md).

Each worker is a forked process with its own connection, as ``manage.py close_statements --workers``
runs them; the kill is a real SIGKILL, with no chance to clean up.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import time
from typing import Any

import pytest
import time_machine
from django.db import connection, connections

from kartosfera.core.models import AuditEvent
from kartosfera.processing.models import Channel, Posting, PostingKind
from kartosfera.statements import close as close_module
from kartosfera.statements.close import close_worker, due_accounts, statements_close
from kartosfera.statements.models import Statement, StatementLine
from kartosfera.statements.tests.helpers import at, credit_card, pay_by_card

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
    pytest.mark.django_db(transaction=True),
]
D = dt.date
AS_OF = D(2026, 10, 10)
ACCOUNTS = 12


def _accounts() -> list[Any]:
    cards = []
    for n in range(ACCOUNTS):
        cc = credit_card(opened=D(2026, 9, 1))
        # A cash withdrawal in each period: a fee is booked with each statement (a repeat would double it).
        pay_by_card(cc, 20_000 + n, D(2026, 9, 2), channel=Channel.ATM, mcc="6011")
        pay_by_card(cc, 30_000 + n, D(2026, 9, 20), channel=Channel.ATM, mcc="6011")
        cards.append(cc)
    return cards


def _worker(delay: float) -> None:
    # A forked child: its own connections; batches of two accounts (a hundred in production), so that two
    # workers share the twelve and a kill falls between batches; slowed down so that the parent can kill it.
    connections.close_all()
    close_module.CLOSE_BATCH = 2
    if delay:
        original = close_module.accounts_statements_close

        def slow(**kwargs: Any) -> Any:
            closed = original(**kwargs)
            time.sleep(delay)
            return closed

        close_module.accounts_statements_close = slow  # type: ignore[assignment]
    try:
        with time_machine.travel(at(AS_OF + dt.timedelta(days=1)), tick=True):
            close_worker(as_of=AS_OF)
    finally:
        connections.close_all()
        os._exit(0)


def _start(delay: float = 0.0) -> multiprocessing.process.BaseProcess:
    connections.close_all()
    process = multiprocessing.get_context("fork").Process(target=_worker, args=(delay,))
    process.start()
    return process


def _check_books() -> None:
    """Every statement complete (lines, audit row), every fee on exactly one statement, balances chained."""
    for statement in Statement.objects.all():
        assert statement.lines.exists()
        assert AuditEvent.objects.filter(action="statements.statement.closed", object_id=str(statement.pk)).count() == 1
    for fee in Posting.objects.filter(kind=PostingKind.FEE):
        assert StatementLine.objects.filter(posting=fee).count() == 1
    assert Statement.objects.filter(corrects__isnull=True).values("account", "period_end").distinct().count() == (
        Statement.objects.count()
    )


def test_two_workers_at_once_close_every_period_once():
    _accounts()
    workers = [_start(), _start()]
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert Statement.objects.count() == 2 * ACCOUNTS
    assert Posting.objects.filter(kind=PostingKind.FEE).count() == 2 * ACCOUNTS
    _check_books()
    assert due_accounts(AS_OF).count() == 0


def test_a_close_killed_half_way_and_run_again_leaves_nothing_missing_and_nothing_twice():
    _accounts()
    process = _start(delay=0.3)
    deadline = time.monotonic() + 60
    while Statement.objects.count() < 2 * 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.join()
    assert process.exitcode == -signal.SIGKILL
    done = Statement.objects.count()
    assert 6 <= done < 2 * ACCOUNTS, "killed half-way"
    _check_books()  # what committed is whole; what did not left nothing behind

    with time_machine.travel(at(AS_OF + dt.timedelta(days=1)), tick=False):
        summary = statements_close(as_of=AS_OF)

    assert summary.statements == 2 * ACCOUNTS - done
    assert Statement.objects.count() == 2 * ACCOUNTS
    assert Posting.objects.filter(kind=PostingKind.FEE).count() == 2 * ACCOUNTS
    _check_books()
