from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from kartosfera.users.models import User, UserKind
from kartosfera.users.selectors import cardholder_find_by_identifier


class CustomerIdentifierBackend(ModelBackend):
    """Cardholders sign in with their PESEL, bank-assigned ID or own login."""

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, identifier: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if not identifier or not password:
            return None
        user = cardholder_find_by_identifier(identifier=identifier)
        if user is None:
            # Hash anyway, so that an unknown identifier costs the same time as a
            # wrong password and timing reveals nothing (Django's own approach).
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.select_related("customer").filter(pk=user_id, kind=UserKind.CUSTOMER).first()
        return user if user is not None and self.user_can_authenticate(user) else None
