"""manage.py load_demo_bank: the demo's three banks of the group, loaded through the services, and their logins."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.urls import reverse

from kartosfera.backoffice.demo import DEMO_STAFF, DEMO_STAFF_PASSWORD, demo_staff_load
from kartosfera.banks.models import Bank
from kartosfera.core.errors import DomainError
from kartosfera.demo.bank import (
    DEFAULT_DEMO_PORT,
    DEMO_CARD_PIN,
    DEMO_PASSWORD,
    DEMO_THREEDS_PIN,
    DemoLogin,
    demo_bank_load,
    demo_login_list,
    demo_url,
)
from kartosfera.demo.banks import BANK_SPECS


def tcp_port(value: str) -> int:
    """A TCP port number, 1 to 65535 (argparse type)."""
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ArgumentTypeError(f"not a port number (1 to 65535): {value!r}")
    return port


class Command(BaseCommand):
    help = (
        "Load the demo's three banks of the group (branches, logos, customers, accounts, card products, cards in "
        "every state, portal users) "
        "through the same services the API uses, then print the demo logins. Safe to run again: "
        "what already exists is left alone. Refuses to run in production."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--port",
            type=tcp_port,
            default=DEFAULT_DEMO_PORT,
            help=f"The port the demo serves on, for the printed addresses (default {DEFAULT_DEMO_PORT}; "
            "scripts/demo.sh passes DEMO_PORT).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.port: int = options["port"]
        # The demo's users share a published password: never in a real bank's database.
        if settings.IS_PRODUCTION:
            raise CommandError("The demo banks are never loaded in production (KARTOSFERA_ENV=production).")
        try:
            counts = demo_bank_load()
            staff_created = demo_staff_load()
        except DomainError as exc:
            # E.g. a real customer already holds a demo PESEL; the transaction rolled back.
            raise CommandError(f"The demo banks could not be loaded, nothing was written: {exc.message}") from exc
        if counts.total:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo banks loaded: {counts.banks} banks, {counts.branches} branches, {counts.logos} logos, "
                    f"{counts.customers} customers, {counts.memberships} memberships at a second bank, "
                    f"{counts.accounts} accounts, "
                    f"{counts.products} card products, {counts.cards} cards, {counts.tokens} wallet tokens, "
                    f"{counts.users} portal users, "
                    f"{counts.reference_rates} ECB reference rates created; {counts.credit_terms} credit products' "
                    f"terms, {counts.pins} card PINs and {counts.threeds_pins} 3-D Secure PINs set; "
                    f"{counts.devices} BS Pay devices activated."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS("The demo banks are already loaded; nothing was changed."))
        if staff_created:
            self.stdout.write(self.style.SUCCESS(f"{staff_created} demo staff users created."))
        self._print_banks()
        self._print_logins(demo_login_list())
        self._print_staff()

    def _print_banks(self) -> None:
        banks = Bank.objects.filter(code__in=BANK_SPECS).annotate(branch_count=Count("branches")).order_by("code")
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING(f"The banks of the group ({settings.GROUP_NAME}):"))
        width = max(len(bank.short_name) for bank in banks)
        for bank in sorted(banks, key=lambda b: list(BANK_SPECS).index(b.code)):
            helpline = bank.helpline_phone or f"the group's, {settings.HELPLINE_PHONE}"
            self.stdout.write(
                f"{bank.short_name.ljust(width)}  {bank.name} (code {bank.code}, settlement number "
                f"{bank.settlement_number}), {bank.branch_count} branches, helpline {helpline}"
            )

    def _print_logins(self, rows: list[DemoLogin]) -> None:
        headers = ("PESEL / bank ID (login)", "Name", "Password", "Cards (bank: product)")
        widths = [
            max(len(headers[0]), *(len(r.identifier) for r in rows)),
            max(len(headers[1]), *(len(r.name) for r in rows)),
            max(len(headers[2]), *(len(r.access) for r in rows)),
        ]

        def line(*cells: str) -> str:
            padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
            return "  ".join([*padded, *cells[len(widths) :]]).rstrip()

        self.stdout.write("")
        portal_url = demo_url(reverse("portal:home"), port=self.port)
        self.stdout.write(self.style.MIGRATE_HEADING(f"Demo logins: open {portal_url}"))
        self.stdout.write(f"Registered customers sign in with their PESEL or bank ID and the password {DEMO_PASSWORD}")
        self.stdout.write("")
        self.stdout.write(line(*headers))
        self.stdout.write(line(*("-" * w for w in widths), "-" * len(headers[3])))
        for row in rows:
            cards = row.cards or ["(no cards)"]
            self.stdout.write(line(row.identifier, row.name, row.access, cards[0]))
            for card in cards[1:]:
                self.stdout.write(line("", "", "", card))
        self.stdout.write("")
        self.stdout.write(f"Portal: {portal_url}")
        terminal_url = demo_url(reverse("processing_dev:terminal"), port=self.port)
        self.stdout.write(
            f"Payment terminal: {terminal_url} — every active demo card's PIN is {DEMO_CARD_PIN} "
            "(for chip and ATM payments; until its holder changes it in the portal)"
        )
        self.stdout.write(
            f"3-D Secure: every demo customer's 3-D Secure PIN is {DEMO_THREEDS_PIN} "
            "(for internet payments the bank asks to confirm; until its holder changes it in the portal)"
        )

    def _print_staff(self) -> None:
        self.stdout.write("")
        backoffice_url = demo_url(reverse("backoffice:home"), port=self.port)
        codes_url = demo_url(reverse("backoffice_dev:staff_codes"), port=self.port)
        self.stdout.write(self.style.MIGRATE_HEADING(f"Back office for the staff: open {backoffice_url}"))
        self.stdout.write(f"Every demo staff user has the password {DEMO_STAFF_PASSWORD} and a TOTP second factor.")
        self.stdout.write(f"Their current codes (demo only): {codes_url} or manage.py demo_staff_codes")
        self.stdout.write("")
        self.stdout.write("The group's staff see every bank's customers; a bank's staff only that bank's.")
        width = max(len(spec.username) for spec in DEMO_STAFF)
        for spec in DEMO_STAFF:
            # "Grupa": the group's contact centre and supervision, as the back office names them.
            works_for = BANK_SPECS[spec.bank].short_name if spec.bank else "Grupa"
            self.stdout.write(f"{spec.username.ljust(width)}  {spec.full_name} ({spec.role}, {works_for})")
