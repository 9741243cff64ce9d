"""``manage.py run_scheduler``: the process that enqueues every scheduled job at its time (kartosfera/jobs).

Start one or several (one per machine, say): one leads, the others stand by and take over when it stops.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.jobs.leadership import leadership_for
from kartosfera.jobs.registry import JOBS
from kartosfera.jobs.scheduler import JobScheduler, plans_for


class Command(BaseCommand):
    help = (
        "Enqueue each scheduled job at its time (docs/operations.md, 'Scheduled jobs'). Several may run: one "
        "leads (a PostgreSQL advisory lock; on SQLite a file lock), the others stand by. A job's slot missed "
        "while no scheduler ran is enqueued once at start."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--only", action="append", choices=sorted(JOBS), help="Schedule only this job.")
        parser.add_argument(
            "--every",
            type=float,
            help="Run every job at this interval in seconds instead of its schedule (tests and trials only).",
        )
        parser.add_argument(
            "--standby-seconds",
            type=float,
            default=5.0,
            help="How often a standby tries to lead and the leader checks its lock (default 5).",
        )

    def handle(self, *args: Any, only: list[str] | None, every: float | None, standby_seconds: float, **options: Any):
        if every is not None and every < 1:
            raise CommandError("--every must be at least 1 second.")
        if standby_seconds <= 0:
            raise CommandError("--standby-seconds must be more than 0.")
        # APScheduler logs every fire at INFO: a line a minute per job says nothing the runs' records do not.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        jobs = [JOBS[name] for name in (only or JOBS)]
        plans = plans_for(jobs, dt.timedelta(seconds=every) if every is not None else None)
        scheduler = JobScheduler(
            leadership=leadership_for(),
            plans=plans,
            standby_seconds=standby_seconds,
            say=self._say,
        )

        def stop(_signum: int, _frame: Any) -> None:
            scheduler.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        scheduler.run()
        self.stdout.write("Scheduler stopped.")

    def _say(self, text: str) -> None:
        # Flushed at once: a supervisor's log (or a test reading the pipe) sees each line when it happens.
        self.stdout.write(text)
        self.stdout.flush()
