"""Revoke an API key by its public prefix: every later request with its token gets 401."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.api.selectors import api_key_get_by_prefix
from kartosfera.api.services import api_key_revoke
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError


class Command(BaseCommand):
    help = "Revoke an API key, given its prefix (the part after kfk_ in the token)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", help="The key's public prefix, e.g. 3f9a0c1b2d4e.")

    def handle(self, *args: Any, prefix: str, **options: Any) -> None:
        api_key = api_key_get_by_prefix(prefix=prefix)
        if api_key is None:
            raise CommandError(f"No API key has the prefix {prefix!r}.")
        try:
            api_key_revoke(actor=Actor.system("manage.py revoke_api_key"), api_key=api_key)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Revoked API key {api_key.name!r} ({api_key.prefix})."))
