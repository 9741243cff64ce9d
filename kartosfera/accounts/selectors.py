from __future__ import annotations

from django.shortcuts import get_object_or_404

from kartosfera.accounts.models import Account
from kartosfera.banks.models import Bank


def account_get_by_reference(*, reference: str, bank: Bank) -> Account:
    """The account of ``bank`` with the bank's reference, or 404 (references are unique per bank only)."""
    return get_object_or_404(Account.objects.select_related("customer", "bank"), bank=bank, reference=reference)
