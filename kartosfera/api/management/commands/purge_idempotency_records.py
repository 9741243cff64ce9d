"""Delete stored answers of idempotent creates once no client would still retry them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kartosfera.api.services import idempotency_record_purge


class Command(BaseCommand):
    help = "Delete idempotency records older than --hours (default 72); they hold personal data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hours", type=int, default=72, help="Keep records younger than this.")

    def handle(self, *args: Any, hours: int, **options: Any) -> None:
        deleted = idempotency_record_purge(older_than=dt.timedelta(hours=max(hours, 1)))
        self.stdout.write(f"Deleted {deleted} idempotency records older than {max(hours, 1)} hours.")
