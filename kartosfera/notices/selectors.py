"""The reads of decline notices: the card page's list and the holder's switch."""

from __future__ import annotations

import datetime as dt

from kartosfera.cards.models import Card
from kartosfera.customers.models import Customer
from kartosfera.notices.models import DeclineNotice, NoticePreference

# The card page lists the latest declines of the last 30 days, at most 10.
RECENT_DAYS = 30
RECENT_SHOWN = 10


def decline_notices_recent(*, customer: Customer, card: Card, now: dt.datetime) -> list[DeclineNotice]:
    """The card's latest decline notices, newest first, with their payments (one query); the customer's cards only."""
    return list(
        DeclineNotice.objects.filter(
            card=card, card__customer=customer, created_at__gt=now - dt.timedelta(days=RECENT_DAYS)
        )
        .select_related("authorization")
        .order_by("-created_at", "-pk")[:RECENT_SHOWN]
    )


def decline_sms_enabled(*, customer: Customer) -> bool:
    """Whether the customer gets text messages about payments declined by their settings (on by default)."""
    return not NoticePreference.objects.filter(customer=customer, decline_sms=False).exists()
