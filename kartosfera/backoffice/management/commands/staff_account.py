"""manage.py staff_account reset|disable|enable USERNAME --reason "…": an operator's hand on a staff account.

The back office's supervisors do the same on the staff accounts page (``staff_account_manage``); this command
is for a deployment with no supervisor able to (the first supervisor, a supervisor's own account) and is
audited as the system. A reset removes the password and every authenticator, ends every session and sends a
new enrolment link by SMS to the employee's own work phone (never printed), after the bank's HR process has
proven who they are.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.formats import date_format

from kartosfera.backoffice.accounts import staff_account_disable, staff_account_enable, staff_account_reset
from kartosfera.backoffice.models import StaffMember
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError, ValidationFailed


class Command(BaseCommand):
    help = (
        "Reset a staff account's password and authenticator (a new one-time enrolment link goes by SMS to the "
        "employee's work phone), or disable "
        "or enable it again; each ends the account's sessions (enable revives none)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("operation", choices=["reset", "disable", "enable"])
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="Why (recorded in the audit trail).")

    def handle(self, *args: Any, **options: Any) -> None:
        member = (
            StaffMember.objects.select_related("user")
            .filter(user__username__iexact=options["username"].strip())
            .first()
        )
        if member is None:
            raise CommandError(f"No staff member has the user name {options['username']!r}; nothing was changed.")
        actor = Actor.system("staff_account")
        operation, reason = options["operation"], options["reason"]
        try:
            if operation == "reset":
                outcome = staff_account_reset(actor=actor, member=member, reason=reason)
            elif operation == "disable":
                staff_account_disable(actor=actor, member=member, reason=reason)
            else:
                staff_account_enable(actor=actor, member=member, reason=reason)
        except ValidationFailed as exc:
            raise CommandError("; ".join(f"{k}: {v}" for k, v in exc.field_errors.items())) from None
        except DomainError as exc:
            raise CommandError(f"{exc.message} Nothing was changed.") from None
        if operation == "reset":
            self.stdout.write(
                self.style.SUCCESS(f"{member}: password and authenticators removed, every session ended.")
            )
            until = date_format(timezone.localtime(outcome.expires_at), "SHORT_DATETIME_FORMAT")
            # The link itself is never printed [ASVS 5.0 6.4.6]: it went to the employee's phone alone.
            self.stdout.write(
                f"The enrolment link was sent by SMS to the employee's work phone {outcome.sent_to}; it works once, "
                f"until {until}."
            )
        elif operation == "disable":
            self.stdout.write(self.style.SUCCESS(f"{member}: disabled, every session ended."))
        else:
            self.stdout.write(self.style.SUCCESS(f"{member}: enabled again (no earlier session comes back)."))
