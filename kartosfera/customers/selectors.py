from __future__ import annotations

from django.shortcuts import get_object_or_404

from kartosfera.customers.models import Customer


def customer_get_by_reference(*, reference: str) -> Customer:
    """The customer with the bank's reference, or 404."""
    return get_object_or_404(Customer, reference=reference)
