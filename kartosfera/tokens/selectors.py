from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from kartosfera.tokens.models import Token
from kartosfera.tokens.states import TokenStatus

if TYPE_CHECKING:
    from kartosfera.cards.models import Card
    from kartosfera.customers.models import Customer


def token_list_for_card(*, card: Card, include_deleted: bool = False) -> QuerySet[Token]:
    """A card's tokens, newest first (the card was reached through its customer by the caller)."""
    tokens = Token.objects.filter(card=card).order_by("-created_at", "-pk")
    return tokens if include_deleted else tokens.exclude(status=TokenStatus.DELETED)


def token_list_for_customer(*, customer: Customer, include_deleted: bool = True) -> QuerySet[Token]:
    """All of a customer's tokens with their cards, newest first (the back office's list)."""
    tokens = (
        Token.objects.filter(card__customer=customer)
        .select_related("card", "card__product")
        .order_by("-created_at", "-pk")
    )
    return tokens if include_deleted else tokens.exclude(status=TokenStatus.DELETED)


def token_get_for_customer(*, customer: Customer, token_id: int, card_id: int | None = None) -> Token:
    """One of the customer's tokens (of the card ``card_id``, if given); another's is a 404, like a missing one."""
    tokens = Token.objects.select_related("card", "card__product").filter(card__customer=customer)
    if card_id is not None:
        tokens = tokens.filter(card_id=card_id)
    return get_object_or_404(tokens, pk=token_id)


def token_status_for_payment(*, card: Card, token_reference: str) -> str | None:
    """The status of the card's token with this reference, for the card core; None when the card has no such token."""
    return Token.objects.filter(card=card, token_reference=token_reference).values_list("status", flat=True).first()


def token_list_for_cards(*, card_ids: list[int]) -> QuerySet[Token]:
    """The tokens of the given cards (already reached through their customer and the staff's scope), one query."""
    return Token.objects.filter(card_id__in=card_ids).order_by("card_id", "-created_at", "-pk")
