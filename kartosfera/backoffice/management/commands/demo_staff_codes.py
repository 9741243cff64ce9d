"""manage.py demo_staff_codes: the demo staff's current TOTP codes (development only)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kartosfera.backoffice.demo import demo_staff_codes


class Command(BaseCommand):
    help = "Print the current authenticator codes of the demo's staff users. Works only in development (DEBUG)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.IS_PRODUCTION or not settings.DEBUG:
            raise CommandError("Staff codes are shown only in the demo (KARTOSFERA_ENV=development).")
        rows = demo_staff_codes()
        if not rows:
            raise CommandError("No demo staff: run manage.py load_demo_bank first.")
        for row in rows:
            self.stdout.write(f"{row.username:<12} {row.code}  (valid {row.seconds_left} s more)")
