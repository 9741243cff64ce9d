"""Delete the request ids of BS Pay devices that no replay could use any more (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.jobs.services import job_run_now_or_fail


class Command(BaseCommand):
    help = (
        "Delete device request ids older than twice the signature window (10 minutes) and wipe the encrypted "
        "copy of activation codes that expired unseen. Safe to run at any time, e.g. every few minutes."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = job_run_now_or_fail("purge_device_request_ids")
        self.stdout.write(
            f"Deleted {counts['deleted']} device request ids; wiped {counts['wiped']} unseen activation codes."
        )
