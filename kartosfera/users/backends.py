from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from kartosfera.users.models import User, UserKind


def password_matches(user: User | None, password: str) -> bool:
    """Check ``password`` against ``user``'s hash, spending the same time when there is no user.

    An unknown identifier hashes a throwaway password with the default hasher
    (Argon2id), so that timing does not reveal whether an account exists
    (Django's own ModelBackend does the same).
    """
    if user is None:
        make_password(password)
        return False
    return user.check_password(password)


class CustomerIdentifierBackend(ModelBackend):
    """Loads the signed-in cardholder for each request; never signs anybody in by password alone.

    Cardholders sign in in two steps (password, then an SMS code: PSD2 strong
    customer authentication) through kartosfera.users.services, which calls
    django.contrib.auth.login() only after both. A password-only
    ``authenticate()`` here would be a one-factor back door, so it refuses.
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        return None

    def user_can_authenticate(self, user: User | AnonymousUser | None) -> bool:
        # A portal access blocked by the user or the bank ends every session at
        # its next request, not only future logins.
        return super().user_can_authenticate(user) and not getattr(user, "is_access_blocked", False)

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.select_related("customer").filter(pk=user_id, kind=UserKind.CUSTOMER).first()
        return user if user is not None and self.user_can_authenticate(user) else None
