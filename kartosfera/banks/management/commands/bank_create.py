"""Add a bank to the group from the command line (e.g. when a bank joins, before its staff and keys)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.banks.services import bank_create
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError, ValidationFailed

# Command-line option -> Bank field, for the optional fields (the code, name and short name are required).
_OPTIONAL = {
    "settlement_number": "The bank's 8-digit numer rozliczeniowy.",
    "registered_address": "The registered office's address.",
    "krs": "The KRS number (10 digits).",
    "nip": "The NIP (10 digits).",
    "regon": "The REGON (9 or 14 digits).",
    "website": "The bank's website (https://...).",
    "helpline_phone": "The bank's helpline; empty: the group's.",
    "card_blocking_phone": "The bank's 24/7 card blocking line; empty: the group's.",
    "sms_sender": "The SMS sender name (up to 11 letters or digits).",
    "brand_colour": "The brand colour as #RRGGBB (white text must be readable on it).",
}


class Command(BaseCommand):
    help = "Add a bank to the group (audited) and print what was created."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="The bank's stable code, e.g. BSNOWY (2-16 capital letters, digits, '-').")
        parser.add_argument("--name", required=True, help="The bank's full name.")
        parser.add_argument("--short-name", required=True, help="The short name shown to cardholders.")
        for field, help_text in _OPTIONAL.items():
            parser.add_argument(f"--{field.replace('_', '-')}", dest=field, default="", help=help_text)

    def handle(self, *args: Any, code: str, name: str, short_name: str, **options: Any) -> None:
        values = {field: options[field] for field in _OPTIONAL}
        try:
            bank = bank_create(
                actor=Actor.system("manage.py bank_create"), code=code, name=name, short_name=short_name, **values
            )
        except ValidationFailed as exc:
            errors = exc.field_errors or {"bank": exc.message}
            raise CommandError("; ".join(f"{field}: {msg}" for field, msg in errors.items())) from None
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Created bank {bank.code}: {bank.name} ({bank.short_name})."))
        for field in _OPTIONAL:
            value = getattr(bank, field)
            if value:
                self.stdout.write(f"  {field.replace('_', ' ')}: {value}")
