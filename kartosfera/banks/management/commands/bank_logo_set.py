"""Set a bank's logo from a PNG or SVG file (checked as the provisioning API checks it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.banks.logos import MAX_BYTES, PNG, SVG, bank_logo_set
from kartosfera.banks.selectors import bank_get_by_code
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError

# The type follows the file's name; logos.py then checks that the content is of that type.
CONTENT_TYPES = {".png": PNG, ".svg": SVG}


class Command(BaseCommand):
    help = "Set the logo of the bank with CODE from FILE (.png or .svg)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="The bank's code, e.g. BANK.")
        parser.add_argument("file", type=Path, help="A .png or .svg file.")

    def handle(self, *args: Any, code: str, file: Path, **options: Any) -> None:
        bank = bank_get_by_code(code=code)
        if bank is None:
            raise CommandError(f"No bank has the code {code!r}.")
        content_type = CONTENT_TYPES.get(file.suffix.lower())
        if content_type is None:
            raise CommandError("The file must be a .png or .svg image.")
        try:
            # One byte over the limit is enough for logos.py to refuse it; a huge file is never read whole.
            with file.open("rb") as stream:
                data = stream.read(MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        try:
            bank = bank_logo_set(
                actor=Actor.system("manage.py bank_logo_set"), bank=bank, data=data, content_type=content_type
            )
        except DomainError as exc:  # not a valid logo, flagged by the antivirus scanner, or not scanned
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"The logo of {bank.code} is set: {bank.logo_url}"))
