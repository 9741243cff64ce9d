"""manage.py simulate_card_traffic: a card processor's traffic for the demo (development only)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.processing.simulation import SimulationError, simulate_card_traffic
from kartosfera.processing.terminal import ProcessorClient, dev_processor_token

API_PATH = "/api/processor/v1/"


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


def _rate(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 100:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Play a card processor against the card core: Polish and foreign merchants, contactless, chip, ATM and "
        "internet payments, EUR payments, declines, reversals, incremental authorizations and advices, and their "
        "clearing the next day (amounts other than authorized within the tolerance, split shipments, refunds, "
        "duplicates reversed, force posts). PAST moments are back-filled through the service layer with explicit "
        "past times (authorization_decide(now=...), clearing_post_batch(now=...)): the HTTP API always decides at "
        "the server's 'now', so history can only be written this way (demo data only). TODAY's traffic goes over "
        "real HTTP to the processor API at --url (without it, what is planned until now goes through the service "
        "layer too) and stays pending: it would clear tomorrow. What earlier runs left open on past days is "
        "cleared first. Never in production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            default="",
            help=(
                "The server's address, e.g. http://127.0.0.1:8000, for today's traffic; without it, today's traffic "
                "until now is back-filled like the past days."
            ),
        )
        parser.add_argument("--days", type=_non_negative, default=90, help="Past days to back-fill (default 90).")
        parser.add_argument(
            "--per-day",
            type=_rate,
            default=1.0,
            help="Payments per card per day on average, 0 to 100 (default 1; 0.5: every other day).",
        )
        parser.add_argument("--seed", type=int, default=1, help="The same seed plays the same traffic (default 1).")
        parser.add_argument(
            "--key",
            default="",
            help="A processor-scope API token for --url (default: $KARTOSFERA_PROCESSOR_KEY, else a development key).",
        )
        parser.add_argument(
            "--statements",
            action="store_true",
            help=(
                "Also play the bank's side of the credit cards as the days pass: each night the statement close of "
                "the periods ended the day before, and the demo holders' repayments when their statements fall due "
                "(kartosfera/statements/demo.py)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("The traffic simulator never runs in production (KARTOSFERA_ENV=production).")
        client = None
        url: str = options["url"].strip()
        if url:
            if not url.startswith(("http://", "https://")):
                raise CommandError("--url must start with http:// or https://.")
            token = options["key"] or os.environ.get("KARTOSFERA_PROCESSOR_KEY", "") or dev_processor_token()
            client = ProcessorClient(url.rstrip("/") + API_PATH, token)
        day_begins = None
        if options["statements"]:
            # This command is where the demo's history is put together: the simulator module itself stays a card
            # processor's and knows nothing of the bank's statements.
            from kartosfera.statements.demo import demo_statements_day_begins

            day_begins = demo_statements_day_begins
        try:
            stats = simulate_card_traffic(
                days=options["days"],
                per_day=options["per_day"],
                seed=options["seed"],
                client=client,
                day_begins=day_begins,
            )
        except SimulationError as exc:
            raise CommandError(f"The processor API refused the simulator: {exc}") from exc
        summary = ", ".join(f"{name}: {count}" for name, count in sorted(stats.items()))
        self.stdout.write(self.style.SUCCESS(f"Simulated card traffic ({summary})."))
