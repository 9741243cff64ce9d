"""manage.py acs_sweep: challenges past their 5 minutes end N 14; RReqs due for a retry are sent again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.acs.challenge import challenge_expire_due
from kartosfera.acs.directory import rreq_deliver_due


class Command(BaseCommand):
    help = (
        "End every 3-D Secure challenge past its 5 minutes (transStatusReason 14) and send again every results "
        "request (RReq) due for a retry (docs/3d-secure.md, 'The challenge'). Run it every minute; safe to run "
        "again and to run twice at once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        ended = challenge_expire_due()
        delivered = rreq_deliver_due()
        self.stdout.write(f"Timed out {ended} challenge(s); delivered {delivered} RReq(s).")
