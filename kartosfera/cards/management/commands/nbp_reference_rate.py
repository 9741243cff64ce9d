"""Record a change of the NBP reference rate, or list the known rates (docs/statements.md, "Interest").

    manage.py nbp_reference_rate                          # the rates known, oldest first
    manage.py nbp_reference_rate --since 2026-03-05 --percent 4.00

The Monetary Policy Council announces each change and the day it applies from; the bank records it
here, and the statement close caps each day's interest at the legal maximum of that day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.cards.credit_terms import legal_max_for, nbp_reference_rate_record, reference_rate_history
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed


class Command(BaseCommand):
    help = "Record a change of the NBP reference rate (--since, --percent), or list the known rates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="The day the rate applies from (YYYY-MM-DD).")
        parser.add_argument("--percent", help="The rate in percent, e.g. 4.00.")

    def handle(self, *args: Any, since: str | None, percent: str | None, **options: Any) -> None:
        if since is not None or percent is not None:
            if since is None or percent is None:
                raise CommandError("Give both --since and --percent.")
            try:
                valid_from = dt.date.fromisoformat(since)
            except ValueError:
                raise CommandError("--since must be a date (YYYY-MM-DD).") from None
            try:
                rate = Decimal(percent)
            except InvalidOperation:
                raise CommandError("--percent must be a decimal number, e.g. 4.00.") from None
            try:
                nbp_reference_rate_record(
                    actor=Actor.system("nbp_reference_rate"), valid_from=valid_from, rate_percent=rate
                )
            except ValidationFailed as error:
                raise CommandError("; ".join(str(message) for message in error.field_errors.values())) from None
        for valid_from, rate in reference_rate_history():
            self.stdout.write(f"{valid_from.isoformat()}  {rate:>6} %  (maximum interest {legal_max_for(rate)} %)")
