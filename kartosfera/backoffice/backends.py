from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from kartosfera.users.models import User, UserKind


class StaffBackend(ModelBackend):
    """Loads the signed-in staff member of a back-office session; never signs anybody in by password alone.

    Staff sign in in two steps (password, then a TOTP code) through
    kartosfera.backoffice.auth, which calls django.contrib.auth.login() only
    after both. Only staff users with a staff record load: a cardholder's id in
    a session marked with this backend loads nobody.
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        return None

    def get_user(self, user_id: int) -> User | None:
        user = (
            # The bank too: every page shows it and every read is scoped by it (banks/scope.py).
            User.objects.select_related("staff_member__bank")
            .filter(pk=user_id, kind=UserKind.STAFF, staff_member__isnull=False)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None
