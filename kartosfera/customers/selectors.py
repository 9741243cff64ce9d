from __future__ import annotations

from django.shortcuts import get_object_or_404

from kartosfera.banks.models import Bank
from kartosfera.customers.models import BankMembership, Customer


def customer_get_by_reference(*, reference: str) -> Customer:
    """The customer with the bank's reference, or 404."""
    return get_object_or_404(Customer, reference=reference)


def membership_get(*, customer: Customer, bank: Bank) -> BankMembership | None:
    """The person's membership in ``bank`` (their number there), if they are the bank's customer."""
    return BankMembership.objects.filter(customer=customer, bank=bank).first()


def is_customer_of(*, customer: Customer, bank: Bank) -> bool:
    return BankMembership.objects.filter(customer=customer, bank=bank).exists()
