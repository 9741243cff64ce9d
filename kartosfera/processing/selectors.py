"""The card core's reads: a card's authorizations and an account's holds (docs/processing.md).

Every selector takes the principal (the customer whose data is read: the
signed-in cardholder, or the customer whose file a staff member opened) and
answers 404 for somebody else's card or account, like a missing one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from kartosfera.accounts.models import Account
from kartosfera.cards.models import Card
from kartosfera.cards.selectors import card_get_for_customer
from kartosfera.customers.models import Customer
from kartosfera.processing.models import HOLDING_STATUSES, Authorization

HISTORY_PAGE_SIZE = 20
# An account rarely holds more; the page says when there are more than it lists.
HOLDS_SHOWN = 50


@dataclass(frozen=True)
class HistoryFilters:
    # Warsaw calendar days (the day each authorization counts on), both ends included.
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str = ""
    # Only the advices flagged for review (the back office's filter).
    needs_review: bool = False


def history_card_get(*, customer: Customer, card_id: int) -> Card:
    """The customer's card whose history is read; somebody else's card is a 404."""
    return card_get_for_customer(customer=customer, card_id=card_id)


def authorization_history(
    *, customer: Customer, card: Card, filters: HistoryFilters = HistoryFilters()
) -> QuerySet[Authorization]:
    """The card's authorizations, newest first, filtered (one query per page, however long)."""
    if card.customer_id != customer.pk:
        raise Http404
    authorizations = Authorization.objects.filter(card_id=card.pk)
    if filters.date_from is not None:
        authorizations = authorizations.filter(local_date__gte=filters.date_from)
    if filters.date_to is not None:
        authorizations = authorizations.filter(local_date__lte=filters.date_to)
    if filters.status:
        authorizations = authorizations.filter(status=filters.status)
    if filters.needs_review:
        authorizations = authorizations.filter(needs_review=True)
    return authorizations.order_by("-created_at", "-id")


def account_holds(*, customer: Customer, account: Account, limit: int = HOLDS_SHOWN) -> list[Authorization]:
    """The account's holds (open authorizations that hold money), soonest to expire first, in one query."""
    if account.customer_id != customer.pk:
        raise Http404
    return list(
        Authorization.objects.filter(account_id=account.pk, status__in=HOLDING_STATUSES, held_minor__gt=0)
        .only(
            "pk",
            "pan_last4",
            "merchant_name",
            "merchant_city",
            "merchant_country",
            "held_minor",
            "billing_currency",
            "expires_at",
            "created_at",
        )
        .order_by("expires_at", "id")[:limit]
    )
