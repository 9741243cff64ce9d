"""Spending by category: a card's (or its whole account's) settled card payments of one month, per category.

What counts (docs/spending.md): the card scheme's postings, that is purchases and cash withdrawals settled
(clearing, force post) less what came back (refunds, chargebacks, clearing reversals), each on its
``local_date``, the Warsaw day of the payment. The bank's own postings (transfers, salary, repayments,
interest, fees) are not spending. Pending payments (holds) are not in the figures until they settle: the
page shows their sum apart. Amounts are the account's (the billing amounts), in the account's currency,
never converted.

Two queries whatever the number of transactions: the postings summed per merchant category code in the
database (GROUP BY mcc), and the month's holds summed. The codes are few (a few hundred at most), and
mapping them to categories in Python keeps ``categories.py`` the one list of categories.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.http import Http404
from django.utils import timezone

from kartosfera.cards.models import Card
from kartosfera.core.money import Money
from kartosfera.customers.models import Customer
from kartosfera.processing.categories import CATEGORIES, OTHER, category_name, mcc_category_key
from kartosfera.processing.models import CARD_POSTING_KINDS, HOLDING_STATUSES, Authorization, Posting

# The current month and the twelve before it: the months the page offers.
MONTHS_SHOWN = 13


class SpendingScope:
    """Whose payments: the one card's, or every card's of its account (the account's owner only)."""

    CARD = "card"
    ACCOUNT = "account"

    ALL = (CARD, ACCOUNT)


def month_start(day: dt.date) -> dt.date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def month_next(month: dt.date) -> dt.date:
    """The first day of the month after ``month``."""
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months_offered(*, today: dt.date | None = None) -> list[dt.date]:
    """The months one may choose, newest first: the current one (in Warsaw) and the twelve before it."""
    month = month_start(today or timezone.localdate())
    months = [month]
    for _step in range(MONTHS_SHOWN - 1):
        month = month_start(month - dt.timedelta(days=1))
        months.append(month)
    return months


def spending_account_visible(*, customer: Customer, card: Card) -> bool:
    """Whether ``customer`` sees the spending of every card of ``card``'s account: they own the account.

    The rule of the statements (statements/selectors.py: ``statements_visible``), for debit and credit accounts
    alike: the account is its owner's, so are all the payments from it; the holder of an additional card
    (a business card given to an employee) sees their own card's spending, never the other cards'.
    """
    return card.customer_id == customer.pk and card.account.customer_id == customer.pk


@dataclass(frozen=True)
class CategorySpending:
    """One category's net spending in the month; ``share`` is its bar's length against the largest (0 to 1)."""

    key: str
    name: str
    amount: Money
    share: float


@dataclass(frozen=True)
class Spending:
    """A month's spending per category, largest first, its total, and the month's payments still pending."""

    month: dt.date
    scope: str
    currency: str
    categories: list[CategorySpending]
    total: Money
    pending: Money
    pending_count: int


# Equal amounts in the order of ``CATEGORIES``, so the page's order never depends on the database's.
_ORDER = {key: position for position, key in enumerate([*CATEGORIES, OTHER])}


def spending_by_category(
    *, customer: Customer, card: Card, month: dt.date, scope: str = SpendingScope.CARD
) -> Spending:
    """The card's (``scope`` account: its account's) spending in ``month`` per category, in two queries.

    Somebody else's card is a 404; so is the whole account for anybody but the account's owner.
    """
    if card.customer_id != customer.pk or scope not in SpendingScope.ALL:
        raise Http404
    if scope == SpendingScope.ACCOUNT and not spending_account_visible(customer=customer, card=card):
        raise Http404
    start, end = month_start(month), month_next(month)
    whose = Q(account_id=card.account_id) if scope == SpendingScope.ACCOUNT else Q(card_id=card.pk)
    # A payment debits the account (a negative change), a refund or a correction credits it: spending is the
    # opposite of the changes' sum. Every card posting is in the account's currency (its billing amount).
    per_code = (
        Posting.objects.filter(whose, kind__in=CARD_POSTING_KINDS, local_date__gte=start, local_date__lt=end)
        .values("mcc")
        .annotate(change=Sum("balance_change_minor"))
        .order_by()
    )
    totals: dict[str, int] = defaultdict(int)
    for row in per_code:
        totals[mcc_category_key(row["mcc"] or "")] -= row["change"] or 0
    holds = Authorization.objects.filter(
        whose, status__in=HOLDING_STATUSES, held_minor__gt=0, local_date__gte=start, local_date__lt=end
    ).aggregate(held=Sum("held_minor"), count=Count("pk"))
    currency = card.account.currency
    # A category whose refunds exactly cancel its payments is no spending to show.
    amounts = sorted(
        ((key, amount) for key, amount in totals.items() if amount != 0),
        key=lambda item: (-item[1], _ORDER[item[0]]),
    )
    largest = max((amount for _key, amount in amounts), default=0)
    categories = [
        CategorySpending(
            key=key,
            name=category_name(key),
            amount=Money(amount, currency),
            share=amount / largest if largest > 0 and amount > 0 else 0.0,
        )
        for key, amount in amounts
    ]
    return Spending(
        month=start,
        scope=scope,
        currency=currency,
        categories=categories,
        total=Money(sum(amount for _key, amount in amounts), currency),
        pending=Money(holds["held"] or 0, currency),
        pending_count=holds["count"] or 0,
    )
