"""manage.py acs_sweep: challenges past their 5 minutes end N 14; RReqs due for a retry are sent again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.jobs.services import job_run_now_or_fail


class Command(BaseCommand):
    help = (
        "End every 3-D Secure challenge past its 5 minutes (transStatusReason 14) and send again every results "
        "request (RReq) due for a retry (docs/3d-secure.md, 'The challenge'). Run it every minute; safe to run "
        "again and to run twice at once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = job_run_now_or_fail("acs_sweep")
        self.stdout.write(f"Timed out {counts['timed_out']} challenge(s); delivered {counts['delivered']} RReq(s).")
