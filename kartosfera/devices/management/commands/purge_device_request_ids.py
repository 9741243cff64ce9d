"""Delete the request ids of BS Pay devices that no replay could use any more (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.devices.services import device_activation_codes_unshown_wipe, device_request_ids_purge


class Command(BaseCommand):
    help = (
        "Delete device request ids older than twice the signature window (10 minutes) and wipe the encrypted "
        "copy of activation codes that expired unseen. Safe to run at any time, e.g. every few minutes."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = device_request_ids_purge()
        wiped = device_activation_codes_unshown_wipe()
        self.stdout.write(f"Deleted {deleted} device request ids; wiped {wiped} unseen activation codes.")
