"""manage.py expire_card_blocks: a temporary block not lifted within 60 days turns into a cancellation."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kartosfera.cards.operations_services import card_block_expire_due


class Command(BaseCommand):
    help = (
        "Cancel (reason block_expired) every card temporarily blocked for 60 days or more. "
        "Run it daily (cron or a systemd timer); safe to run again and to run twice at once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = card_block_expire_due()
        self.stdout.write(f"Cancelled {count} card(s) blocked for 60 days or more.")
