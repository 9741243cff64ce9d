"""``manage.py blik_sync``: send the BLIK system every BLIK change it has not confirmed (safe to run any time)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.jobs.services import job_run_now_or_fail


class Command(BaseCommand):
    help = "Send the BLIK system every BLIK change it has not confirmed yet (pending or failed)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = job_run_now_or_fail("blik_sync")
        self.stdout.write(
            f"BLIK changes confirmed now: {counts['confirmed']}; not confirmed yet: {counts['not_confirmed']}"
        )
