from __future__ import annotations

from django.db.models import Q

from kartosfera.users.models import User, UserKind


def cardholder_find_by_identifier(*, identifier: str) -> User | None:
    """The cardholder whose PESEL, bank-assigned ID or own login is ``identifier``."""
    value = identifier.strip()
    if not value:
        return None
    return (
        User.objects.select_related("customer")
        .filter(kind=UserKind.CUSTOMER)
        .filter(Q(customer__pesel=value) | Q(customer__nonresident_id__iexact=value) | Q(login__iexact=value))
        .first()
    )
