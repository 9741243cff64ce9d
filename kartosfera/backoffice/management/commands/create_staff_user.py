"""manage.py create_staff_user: a bank employee's back-office account and the key for their authenticator app."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.backoffice.auth import staff_member_create
from kartosfera.backoffice.roles import StaffRole
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed


class Command(BaseCommand):
    help = (
        "Create a back-office account with a role and print the otpauth:// address to enrol the "
        "person's authenticator app (show it once, to them only). The password is asked for, never an argument."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="The employee's full name.")
        parser.add_argument("--role", required=True, choices=StaffRole.values)
        parser.add_argument("--unit", default="", help="Branch or team.")

    def handle(self, *args: Any, **options: Any) -> None:
        password = getpass.getpass("Password (at least 12 characters): ")
        if password != getpass.getpass("The same password again: "):
            raise CommandError("The passwords differ; nothing was created.")
        try:
            member, device = staff_member_create(
                actor=Actor.system("create_staff_user"),
                username=options["username"],
                full_name=options["name"],
                role=options["role"],
                password=password,
                unit=options["unit"],
            )
        except ValidationFailed as exc:
            raise CommandError("; ".join(f"{k}: {v}" for k, v in exc.field_errors.items())) from None
        self.stdout.write(self.style.SUCCESS(f"Created {member}."))
        self.stdout.write("Enrol the authenticator app with this address (as a QR code or typed in):")
        self.stdout.write(device.config_url)
