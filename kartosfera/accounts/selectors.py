from __future__ import annotations

from django.shortcuts import get_object_or_404

from kartosfera.accounts.models import Account


def account_get_by_reference(*, reference: str) -> Account:
    """The account with the bank's reference, or 404."""
    return get_object_or_404(Account.objects.select_related("customer"), reference=reference)
