"""Close the credit accounts' statements due by a day (docs/statements.md, "The close").

    manage.py close_statements                  # everything due by yesterday (Warsaw)
    manage.py close_statements --date 2026-11-10 --workers 2

Idempotent and resumable: run it again after a crash, or twice at once, and every period is closed
once. Prints a progress bar on a terminal and a summary; exits non-zero when an account failed.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import queue
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections
from django.utils import timezone

from kartosfera.statements.close import CloseSummary, close_as_of_default, close_worker, due_accounts
from kartosfera.statements.models import Statement

BAR_WIDTH = 30


def _run_worker(as_of: dt.date, results: Any) -> None:
    # A forked child: its own database connection (the parent closed its own before forking).
    try:
        summary = close_worker(as_of=as_of)
        results.put((summary.accounts, summary.statements, summary.failures, ""))
    except Exception as error:
        results.put((0, 0, {}, repr(error)))
    finally:
        connections.close_all()


class Command(BaseCommand):
    help = "Close the credit accounts' statements due by a day (default: yesterday), in parallel workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="Close the periods ending on or before this day (YYYY-MM-DD).")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Worker processes (PostgreSQL: default 2; SQLite takes one writer at a time: 1).",
        )

    def handle(self, *args: Any, date: str | None, workers: int | None, **options: Any) -> None:
        try:
            as_of = dt.date.fromisoformat(date) if date else close_as_of_default()
        except ValueError:
            raise CommandError("--date must be a date (YYYY-MM-DD).") from None
        if as_of >= timezone.localdate():
            raise CommandError("--date must be before today: a billing day closes once it is over.")
        parallel = connection.features.has_select_for_update_skip_locked
        workers = workers if workers is not None else (2 if parallel else 1)
        if workers < 1 or (workers > 1 and not parallel):
            raise CommandError("--workers must be 1 on SQLite, and at least 1 elsewhere.")
        due = due_accounts(as_of).count()
        started = timezone.now()
        self.stdout.write(f"Closing statements due by {as_of.isoformat()}: {due} account(s), {workers} worker(s).")
        began = time.monotonic()
        summary = self._close(as_of=as_of, workers=workers, due=due, started=started)
        seconds = time.monotonic() - began
        self.stdout.write(
            f"Closed {summary.statements} statement(s) of {summary.accounts} account(s) in {seconds:.1f} s; "
            f"{len(summary.failures)} failed."
        )
        for reference, reason in sorted(summary.failures.items()):
            self.stderr.write(f"  {reference}: {reason}")
        if summary.failures:
            raise CommandError(f"{len(summary.failures)} account(s) could not be closed; run again once fixed.")

    def _close(self, *, as_of: dt.date, workers: int, due: int, started: dt.datetime) -> CloseSummary:
        if workers == 1:
            closed = [0]

            def progress(_statement: Statement) -> None:
                closed[0] += 1
                self._progress(closed[0], due)

            summary = close_worker(as_of=as_of, on_closed=progress)
            self._progress_end(due)
            return summary
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        connections.close_all()
        processes = [context.Process(target=_run_worker, args=(as_of, results)) for _ in range(workers)]
        for process in processes:
            process.start()
        summary = CloseSummary()
        errors: list[str] = []
        pending = len(processes)
        while pending:
            if sys.stdout.isatty():
                # Counted only for a person watching: the count reads the statements table twice a second.
                self._progress(Statement.objects.filter(closed_at__gte=started, corrects__isnull=True).count(), due)
            try:
                accounts, statements, failures, error = results.get(timeout=0.5)
            except queue.Empty:
                if not any(process.is_alive() for process in processes) and results.empty():
                    errors.append("a worker died without a word")
                    break
                continue
            pending -= 1
            summary.add(CloseSummary(accounts=accounts, statements=statements, failures=failures))
            if error:
                errors.append(error)
        for process in processes:
            process.join()
        self._progress_end(due)
        if errors:
            raise CommandError("A worker failed: " + "; ".join(errors) + ". Run again: nothing is closed twice.")
        return summary

    def _progress(self, done: int, total: int) -> None:
        if not sys.stdout.isatty() or total == 0:
            return
        filled = min(BAR_WIDTH, BAR_WIDTH * done // total)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}", ending="")
        self.stdout.flush()

    def _progress_end(self, total: int) -> None:
        if sys.stdout.isatty() and total:
            self.stdout.write("")
