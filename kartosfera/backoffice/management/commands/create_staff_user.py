"""manage.py create_staff_user: a bank employee's back-office account; its enrolment link goes to their phone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.formats import date_format

from kartosfera.backoffice.accounts import staff_member_invite
from kartosfera.backoffice.roles import StaffRole, StaffScope, role_exists_in
from kartosfera.banks.models import Bank
from kartosfera.banks.selectors import bank_get_by_code, bank_list
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed


class Command(BaseCommand):
    help = (
        "Create a back-office account with a role and send its one-time enrolment link by SMS to the employee's "
        "work mobile (--phone), where they set their own password and enrol their authenticator app (valid 24 "
        "hours, works once). Nobody else ever chooses or sees the password or the link."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="The employee's full name.")
        parser.add_argument("--role", required=True, choices=StaffRole.values)
        parser.add_argument(
            "--phone",
            required=True,
            help="The employee's own work mobile (e.g. +48 601 234 567; without a country code: Polish). The "
            "enrolment link, and every later one, goes there by SMS.",
        )
        parser.add_argument("--unit", default="", help="Branch or team.")
        parser.add_argument(
            "--bank",
            default="",
            metavar="CODE",
            help="The code of the bank the employee works for (sees only its customers); omitted: the group's staff.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bank = self._bank(options["bank"])
        if not role_exists_in(options["role"], StaffScope.GROUP if bank is None else StaffScope.BANK):
            if bank is None:
                raise CommandError(f"A {options['role']} works for one bank: give --bank CODE; nothing was created.")
            raise CommandError(
                f"A {options['role']} is the group's staff, not a bank's: leave out --bank; nothing was created."
            )
        try:
            sent = staff_member_invite(
                actor=Actor.system("create_staff_user"),
                username=options["username"],
                full_name=options["name"],
                role=options["role"],
                phone=options["phone"],
                unit=options["unit"],
                bank=bank,
            )
        except ValidationFailed as exc:
            raise CommandError(
                "; ".join(f"{k}: {v}" for k, v in exc.field_errors.items()) + "; nothing was created."
            ) from None
        where = f"staff of {bank.short_name} ({bank.code})" if bank is not None else "the group's staff"
        self.stdout.write(self.style.SUCCESS(f"Created {sent.member}, {where}."))
        until = date_format(timezone.localtime(sent.expires_at), "SHORT_DATETIME_FORMAT")
        # The link itself is never printed [ASVS 5.0 6.4.6]: it went to the employee's phone alone.
        self.stdout.write(
            f"The enrolment link was sent by SMS to the employee's work phone {sent.sent_to}; it works once, until "
            f"{until}. There they set their own password and enrol their authenticator app."
        )

    def _bank(self, code: str) -> Bank | None:
        """The bank named by ``--bank`` (checked before anything is created), or None for the group."""
        code = code.strip().upper()
        if not code:
            return None
        bank = bank_get_by_code(code=code)
        if bank is None:
            known = ", ".join(bank_list().values_list("code", flat=True)) or "none yet"
            raise CommandError(f"No bank has the code {code!r} (the banks: {known}); nothing was created.")
        return bank
