from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.jobs.services import job_run_now_or_fail


class Command(BaseCommand):
    help = "Wipe the secret payloads (e.g. a new password's hash) of confirmations whose code expired unused."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = job_run_now_or_fail("wipe_expired_confirmations")
        self.stdout.write(f"Wiped {counts['wiped']} expired confirmation(s).")
