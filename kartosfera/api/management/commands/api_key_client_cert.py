"""Bind an API key to client certificates, or unbind it, by their SHA-256 fingerprints; list them without options."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.api.selectors import api_key_get_by_prefix
from kartosfera.api.services import api_key_client_certs_change
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError, ValidationFailed


class Command(BaseCommand):
    help = (
        "Show the client certificates an API key is bound to, or change them: --bind and --unbind take a "
        "certificate's SHA-256 fingerprint (`openssl x509 -in client.pem -noout -fingerprint -sha256`). "
        "A key bound to certificates is taken only with one of them (docs/api.md, 'Client certificates')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", help="The key's public prefix, e.g. 3f9a0c1b2d4e.")
        parser.add_argument(
            "--bind", action="append", default=[], metavar="FINGERPRINT", help="Bind this certificate; repeatable."
        )
        parser.add_argument(
            "--unbind", action="append", default=[], metavar="FINGERPRINT", help="Unbind this certificate; repeatable."
        )

    def handle(self, *args: Any, prefix: str, bind: list[str], unbind: list[str], **options: Any) -> None:
        api_key = api_key_get_by_prefix(prefix=prefix)
        if api_key is None:
            raise CommandError(f"No API key has the prefix {prefix!r}.")
        if bind or unbind:
            try:
                api_key = api_key_client_certs_change(
                    actor=Actor.system("manage.py api_key_client_cert"), api_key=api_key, add=bind, remove=unbind
                )
            except ValidationFailed as exc:
                raise CommandError("; ".join(exc.field_errors.values())) from None
            except DomainError as exc:
                raise CommandError(exc.message) from None
        fingerprints = api_key.client_certs
        self.stdout.write(
            f"API key {api_key.name!r} ({api_key.prefix}) is bound to {len(fingerprints)} certificate(s)."
        )
        for fingerprint in fingerprints:
            self.stdout.write(f"  {fingerprint}")
        if not fingerprints and settings.API_KEYS_REQUIRE_CLIENT_CERT:
            self.stderr.write(
                self.style.WARNING("API_KEYS_REQUIRE_CLIENT_CERT is on: the key is refused until it is bound.")
            )
