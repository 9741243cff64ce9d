from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from kartosfera.banks.models import Bank
from kartosfera.cards.models import Card, CardProduct
from kartosfera.core.audit_actions import Audience, audit_action_names
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer


def card_list_for_customer(*, customer: Customer) -> QuerySet[Card]:
    """The customer's cards, newest first, with what the list shows, in one query."""
    return Card.objects.with_display_relations().filter(customer=customer).order_by("-created_at", "-id")


def card_get_for_customer(*, customer: Customer, card_id: int) -> Card:
    """One of the customer's cards; somebody else's card is a 404, like a missing one."""
    return get_object_or_404(Card.objects.with_display_relations(), pk=card_id, customer=customer)


def card_successor_for_customer(*, customer: Customer, card: Card) -> Card | None:
    """The customer's card that renewed or replaced ``card``, if the bank has issued one."""
    return Card.objects.with_display_relations().filter(customer=customer, replaces=card).first()


def card_get_by_reference(*, reference: str, bank: Bank) -> Card:
    """The card of ``bank`` with the bank's reference, or 404 (for the bank's systems; unique per bank only)."""
    return get_object_or_404(
        Card.objects.select_related("product", "account", "customer", "bank"), bank=bank, reference=reference
    )


def card_product_get_by_code(*, code: str, bank: Bank) -> CardProduct:
    """The card product of ``bank`` with this code, or 404 (codes are unique per bank only)."""
    return get_object_or_404(CardProduct.objects.select_related("bank"), bank=bank, code=code)


def card_history(*, card: Card, limit: int = 10) -> list[AuditEvent]:
    """The card's most recent audit rows the cardholder may see, newest first, in one query."""
    return list(
        AuditEvent.objects.filter(
            object_type=Card._meta.label_lower,
            object_id=str(card.pk),
            action__in=audit_action_names(audience=Audience.CARDHOLDER),
        ).order_by("-occurred_at", "-id")[:limit]
    )
