"""Create an API key for one of the bank's systems; its token is printed once and stored nowhere."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed


class Command(BaseCommand):
    help = "Create an API key and print its token (shown this once only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Who uses the key, e.g. 'core banking (prod)'.")
        parser.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            required=True,
            choices=ApiScope.values,
            help="What the key may call; repeat for more than one scope.",
        )

    def handle(self, *args: Any, name: str, scopes: list[str], **options: Any) -> None:
        try:
            api_key, token = api_key_create(actor=Actor.system("manage.py create_api_key"), name=name, scopes=scopes)
        except ValidationFailed as exc:
            raise CommandError("; ".join(f"{field}: {msg}" for field, msg in exc.field_errors.items())) from None
        # Everything but the token goes to stderr, so `... 2>/dev/null` captures the token alone.
        self.stderr.write(
            f"Created API key {api_key.name!r}: prefix {api_key.prefix}, scopes {', '.join(api_key.scopes)}.\n"
            "The token below is shown this once; store it in the client's secret store now.",
            style_func=self.style.SUCCESS,
        )
        self.stdout.write(token)
