"""manage.py expire_card_blocks: a temporary block not lifted within 60 days turns into a cancellation."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.jobs.services import job_run_now_or_fail


class Command(BaseCommand):
    help = (
        "Cancel (reason block_expired) every card temporarily blocked for 60 days or more. "
        "Run it daily (cron or a systemd timer); safe to run again and to run twice at once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = job_run_now_or_fail("expire_card_blocks")
        self.stdout.write(f"Cancelled {counts['cancelled']} card(s) blocked for 60 days or more.")
