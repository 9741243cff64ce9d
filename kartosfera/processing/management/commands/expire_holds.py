"""manage.py expire_holds: pending card holds past their lifetime drop out of the funds and the daily limits."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.jobs.services import job_run_now_or_fail


class Command(BaseCommand):
    help = (
        "Expire every pending card hold whose lifetime has run out (docs/processing.md, 'Holds'). "
        "Run it often (e.g. every 15 minutes); safe to run again and to run twice at once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = job_run_now_or_fail("expire_holds")
        self.stdout.write(f"Expired {counts['expired']} card hold(s).")
