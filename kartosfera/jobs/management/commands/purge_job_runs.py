"""manage.py purge_job_runs: the record of the scheduled jobs' runs that ended more than 90 days ago is deleted."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.jobs.services import job_run_now_or_fail


class Command(BaseCommand):
    help = (
        "Delete the record of the scheduled jobs' runs that ended more than 90 days ago (the back office shows each "
        "job's last runs; the audit log keeps what the jobs changed). Safe to run again and to run twice at once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = job_run_now_or_fail("purge_job_runs")
        self.stdout.write(f"Deleted {counts['deleted']} run(s) that ended more than 90 days ago.")
