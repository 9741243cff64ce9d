"""manage.py purge_expired_sessions: the stored sessions past their expiry are deleted."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.jobs.services import job_run_now_or_fail


class Command(BaseCommand):
    help = (
        "Delete the stored sessions past their expiry (nobody signed out of them: the browser was closed). "
        "Safe to run again and to run twice at once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = job_run_now_or_fail("purge_expired_sessions")
        self.stdout.write(
            f"Deleted {counts['deleted']} expired session(s) and {counts.get('records', 0)} old session record(s)."
        )
