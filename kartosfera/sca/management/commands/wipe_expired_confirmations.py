from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.sca.stepup import stepup_expired_secrets_wipe


class Command(BaseCommand):
    help = "Wipe the secret payloads (e.g. a new password's hash) of confirmations whose code expired unused."

    def handle(self, *args: Any, **options: Any) -> None:
        wiped = stepup_expired_secrets_wipe()
        self.stdout.write(f"Wiped {wiped} expired confirmation(s).")
