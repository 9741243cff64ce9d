"""manage.py sms_sweep: the text messages whose delivery task was lost (a worker killed) are enqueued again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kartosfera.notifications.services import sms_deliveries_resume


class Command(BaseCommand):
    help = (
        "Enqueue again the delivery of every queued text message that no task waits to deliver and no worker "
        "is sending (its worker died). Run it every minute; safe to run again and to run twice at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--min-age",
            type=float,
            default=60,
            help="Leave messages younger than this many seconds (their first delivery is just being enqueued).",
        )

    def handle(self, *args: Any, min_age: float, **options: Any) -> None:
        resumed = sms_deliveries_resume(min_age=dt.timedelta(seconds=max(0.0, min_age)))
        self.stdout.write(f"Enqueued again {resumed} delivery(ies) whose task was lost.")
