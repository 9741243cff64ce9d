"""manage.py end_sessions (--user ID|USERNAME | --all-cardholders | --all-staff) --reason "…" [ASVS 5.0 7.4.5].

Ends every session of one user, of every cardholder or of every staff member at its next request (the session
epoch in the session auth hash), without blocking anybody's access; audited (``users.sessions.ended``,
``users.sessions.ended_all``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError
from kartosfera.users.models import User, UserKind
from kartosfera.users.services import user_sessions_end, users_sessions_end_all


class Command(BaseCommand):
    help = (
        "End every session of one user (--user, by id or user name), of every cardholder (--all-cardholders) "
        "or of every staff member (--all-staff). Nobody's access is blocked: they can sign in again at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        whose = parser.add_mutually_exclusive_group(required=True)
        whose.add_argument("--user", metavar="ID|USERNAME", help="One user: the numeric id or the user name.")
        whose.add_argument("--all-cardholders", action="store_true", help="Every cardholder's portal session.")
        whose.add_argument("--all-staff", action="store_true", help="Every staff member's back-office session.")
        parser.add_argument("--reason", required=True, help="Why (recorded in the audit trail).")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("end_sessions")
        try:
            if options["user"]:
                user = self._user(options["user"])
                user_sessions_end(actor=actor, user=user, reason=options["reason"])
                self.stdout.write(self.style.SUCCESS(f"Every session of user {user.pk} ({user.kind}) ended."))
                return
            kind = UserKind.CUSTOMER if options["all_cardholders"] else UserKind.STAFF
            count = users_sessions_end_all(actor=actor, kind=kind, reason=options["reason"])
        except DomainError as exc:
            raise CommandError(f"{exc.message} Nothing was changed.") from None
        self.stdout.write(self.style.SUCCESS(f"Every session of {count} users ({kind}) ended."))

    @staticmethod
    def _user(value: str) -> User:
        """The user named by ``value``: a user name first (any case), else a numeric id."""
        value = value.strip()
        user = User.objects.filter(username__iexact=value).first() if value else None
        if user is None and value.isdigit():
            user = User.objects.filter(pk=int(value)).first()
        if user is None:
            raise CommandError(f"No user has the id or user name {value!r}; nothing was changed.")
        return user
