"""``manage.py blik_sync``: send the BLIK system every BLIK change it has not confirmed (safe to run any time)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.blik.models import BlikService, SyncStatus
from kartosfera.blik.sync import blik_sync_due


class Command(BaseCommand):
    help = "Send the BLIK system every BLIK change it has not confirmed yet (pending or failed)."

    def handle(self, *args: Any, **options: Any) -> None:
        sent = blik_sync_due()
        left = BlikService.objects.exclude(sync_status=SyncStatus.SYNCED).count()
        self.stdout.write(f"BLIK changes confirmed now: {sent}; not confirmed yet: {left}")
