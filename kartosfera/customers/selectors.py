from __future__ import annotations

from django.shortcuts import get_object_or_404

from kartosfera.banks.models import Bank
from kartosfera.customers.models import BankMembership, Customer


def customer_get_by_reference(*, reference: str, bank: Bank) -> Customer:
    """The customer ``bank`` knows by its own number ``reference`` (membership.customer_number), or 404.

    Another bank's customer is a 404 even when the person exists: a bank never learns whom the others serve.
    """
    return get_object_or_404(Customer, memberships__bank=bank, memberships__customer_number=reference)


def membership_get(*, customer: Customer, bank: Bank) -> BankMembership | None:
    """The person's membership in ``bank`` (their number there), if they are the bank's customer."""
    return BankMembership.objects.filter(customer=customer, bank=bank).first()


def is_customer_of(*, customer: Customer, bank: Bank) -> bool:
    return BankMembership.objects.filter(customer=customer, bank=bank).exists()


def customer_payments_stopped(customer_id: int) -> bool:
    """Has the customer stopped every payment (docs/stop-everything.md)? One query, read as committed now."""
    return Customer.objects.filter(pk=customer_id, payments_stopped_at__isnull=False).exists()
