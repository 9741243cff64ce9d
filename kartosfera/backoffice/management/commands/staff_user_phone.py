"""manage.py staff_user_phone USERNAME PHONE --reason "…": set a staff member's work mobile.

The work phone is where the member's enrolment links go by SMS (``create_staff_user``, resets). Only an
administrator with server access sets it, never a supervisor in the back office: whoever could change it could
send a member's link to themselves [ASVS 5.0 6.4.6]. Audited as the system; an open link stops working.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.backoffice.accounts import staff_work_phone_set
from kartosfera.backoffice.models import StaffMember
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.customers.identity import mask_phone


class Command(BaseCommand):
    help = (
        "Set a staff member's work mobile, where their enrolment links go by SMS. Check the number with the "
        "employee and HR first; an enrolment link not yet used stops working."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("phone", help="E.g. +48 601 234 567; without a country code: Polish.")
        parser.add_argument("--reason", required=True, help="Why (recorded in the audit trail).")

    def handle(self, *args: Any, **options: Any) -> None:
        member = (
            StaffMember.objects.select_related("user")
            .filter(user__username__iexact=options["username"].strip())
            .first()
        )
        if member is None:
            raise CommandError(f"No staff member has the user name {options['username']!r}; nothing was changed.")
        try:
            member = staff_work_phone_set(
                actor=Actor.system("staff_user_phone"),
                member=member,
                phone=options["phone"],
                reason=options["reason"],
            )
        except ValidationFailed as exc:
            raise CommandError(
                "; ".join(f"{k}: {v}" for k, v in exc.field_errors.items()) + "; nothing was changed."
            ) from None
        except DomainError as exc:
            raise CommandError(f"{exc.message} Nothing was changed.") from None
        self.stdout.write(self.style.SUCCESS(f"{member}: work phone set to {mask_phone(member.work_phone)}."))
