"""Create an API key for one of the group's or a bank's systems; its token is printed once and stored nowhere."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.banks.selectors import bank_get_by_code
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed


class Command(BaseCommand):
    help = (
        "Create an API key and print its token (shown this once only). Name whose it is: --group for the "
        "group's systems (the processor, the group's core), --bank CODE for one bank's core system."
    )

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
        parser.add_argument(
            "--client-cert-sha256",
            dest="client_certs",
            action="append",
            default=[],
            metavar="FINGERPRINT",
            help="Bind the key to this client certificate (its SHA-256 fingerprint, as `openssl x509 -noout "
            "-fingerprint -sha256` prints it); repeat for more. Production requires one "
            "(API_KEYS_REQUIRE_CLIENT_CERT).",
        )
        # Neither is the default on purpose: a key that sees every bank must never be made by forgetting a flag.
        owner = parser.add_mutually_exclusive_group()
        owner.add_argument("--bank", metavar="CODE", help="A key of this bank's core system: it sees only this bank.")
        owner.add_argument(
            "--group",
            action="store_true",
            help="A key of the group's systems: it names the bank of each request (X-Bank-Code).",
        )

    def handle(
        self,
        *args: Any,
        name: str,
        scopes: list[str],
        bank: str | None,
        group: bool,
        client_certs: list[str],
        **options: Any,
    ) -> None:
        if not group and not bank:
            raise CommandError("Say whose key it is: --group (the group's systems) or --bank CODE (one bank).")
        owner = None
        if bank:
            owner = bank_get_by_code(code=bank.strip().upper())
            if owner is None:
                raise CommandError(f"No bank has the code {bank!r}.")
        try:
            api_key, token = api_key_create(
                actor=Actor.system("manage.py create_api_key"),
                name=name,
                scopes=scopes,
                bank=owner,
                client_cert_sha256=client_certs,
            )
        except ValidationFailed as exc:
            raise CommandError("; ".join(f"{field}: {msg}" for field, msg in exc.field_errors.items())) from None
        whose = f"bank {owner.code}" if owner is not None else "the group"
        # Everything but the token goes to stderr, so `... 2>/dev/null` captures the token alone.
        self.stderr.write(
            f"Created API key {api_key.name!r} of {whose}: prefix {api_key.prefix}, "
            f"scopes {', '.join(api_key.scopes)}; {_certs(api_key.client_certs)}.\n"
            "The token below is shown this once; store it in the client's secret store now.",
            style_func=self.style.SUCCESS,
        )
        self.stdout.write(token)


def _certs(fingerprints: list[str]) -> str:
    if fingerprints:
        return "bound to the client certificate(s) " + ", ".join(fingerprints)
    if settings.API_KEYS_REQUIRE_CLIENT_CERT:
        return "bound to no client certificate: refused until one is bound (manage.py api_key_client_cert)"
    return "bound to no client certificate"
