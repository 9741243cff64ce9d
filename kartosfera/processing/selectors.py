"""The card core's reads: a card's history (authorizations and postings) and an account's holds (docs/processing.md).

Every selector takes the principal (the customer whose data is read: the
signed-in cardholder, or the customer whose file a staff member opened) and
answers 404 for somebody else's card or account, like a missing one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import CharField, Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.http import Http404

from kartosfera.accounts.models import Account
from kartosfera.acs.selectors import NOT_SHOWN as AUTHENTICATION_NOT_SHOWN
from kartosfera.cards.models import Card
from kartosfera.cards.selectors import card_get_for_customer
from kartosfera.customers.models import Customer
from kartosfera.processing.models import (
    HOLDING_STATUSES,
    Authorization,
    AuthorizationStatus,
    Posting,
    PostingKind,
)

HISTORY_PAGE_SIZE = 20
# An account rarely holds more; the page says when there are more than it lists.
HOLDS_SHOWN = 50


@dataclass(frozen=True)
class HistoryFilters:
    # Warsaw calendar days (the day each authorization counts on), both ends included.
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str = ""
    # Only what is flagged for review: advices, and payments or postings the clearing flagged (the back office's).
    needs_review: bool = False


def history_card_get(*, customer: Customer, card_id: int) -> Card:
    """The customer's card whose history is read; somebody else's card is a 404."""
    return card_get_for_customer(customer=customer, card_id=card_id)


def authorization_history(
    *, customer: Customer, card: Card, filters: HistoryFilters = HistoryFilters()
) -> QuerySet[Authorization]:
    """The card's authorizations, newest first, filtered (one query per page, however long).

    Each with its CBPR2 conversion charge, when one was recorded (joined: no query per row).
    """
    if card.customer_id != customer.pk:
        raise Http404
    authorizations = Authorization.objects.filter(card_id=card.pk).select_related("conversion_charge")
    if filters.date_from is not None:
        authorizations = authorizations.filter(local_date__gte=filters.date_from)
    if filters.date_to is not None:
        authorizations = authorizations.filter(local_date__lte=filters.date_to)
    if filters.status:
        authorizations = authorizations.filter(status=filters.status)
    if filters.needs_review:
        flagged_posting = Posting.objects.filter(authorization_id=OuterRef("pk"), needs_review=True)
        authorizations = authorizations.filter(Q(needs_review=True) | Exists(flagged_posting))
    return authorizations.order_by("-created_at", "-id")


# The credit account's own movements, shown on its owner's cards: repayments, and the statement close's interest
# and fees (docs/statements.md).
ACCOUNT_HOLDER_KINDS = (PostingKind.REPAYMENT, PostingKind.INTEREST, PostingKind.FEE)


def posting_history(*, customer: Customer, card: Card, filters: HistoryFilters = HistoryFilters()) -> QuerySet[Posting]:
    """The card's postings that are lines of their own, newest first: force posts, refunds, chargebacks and
    clearing reversals, and the repayments, interest and fees of its credit account. A clearing is not: it is
    shown on its authorization's line (settled, for how much).

    A repayment has no card (the bank books it to the account): it is shown on the account's cards whose
    holder owns the account, as the debt it pays is theirs; an additional card's holder does not see it.
    They are booked movements, so a status filter other than "settled" leaves them out.
    """
    if card.customer_id != customer.pk:
        raise Http404
    repayments = Q(kind__in=ACCOUNT_HOLDER_KINDS, account_id=card.account_id, account__customer_id=customer.pk)
    postings = Posting.objects.filter(Q(card_id=card.pk) | repayments).exclude(kind=PostingKind.CLEARING)
    if filters.status not in ("", AuthorizationStatus.SETTLED):
        postings = postings.none()
    if filters.date_from is not None:
        postings = postings.filter(local_date__gte=filters.date_from)
    if filters.date_to is not None:
        postings = postings.filter(local_date__lte=filters.date_to)
    if filters.needs_review:
        postings = postings.filter(needs_review=True)
    return postings.order_by("-created_at", "-id")


class EntrySource:
    AUTHORIZATION = "authorization"
    POSTING = "posting"


def card_history_entries(
    *, customer: Customer, card: Card, filters: HistoryFilters = HistoryFilters()
) -> QuerySet[Authorization, tuple[dt.datetime, int, str]]:
    """The card's history, newest first: its authorizations and its postings of their own, in one list.

    A UNION of ``(created_at, id, source)`` rows, so that counting and slicing a page are one query
    each however long the history; ``history_entries_load`` turns a page of them into the objects.
    """
    authorizations = authorization_history(customer=customer, card=card, filters=filters)
    postings = posting_history(customer=customer, card=card, filters=filters)
    source = CharField()
    return (
        authorizations.order_by()
        .annotate(source=Value(EntrySource.AUTHORIZATION, output_field=source))
        .values_list("created_at", "id", "source")
        .union(
            postings.order_by()
            .annotate(source=Value(EntrySource.POSTING, output_field=source))
            .values_list("created_at", "id", "source"),
            all=True,
        )
        .order_by("-created_at", "-id")
    )


def history_entries_load(
    entries: Iterable[tuple[dt.datetime, int, str]], *, staff: bool = False
) -> list[Authorization | Posting]:
    """The objects of a page of ``card_history_entries``, in its order, in a fixed number of queries.

    An authorization comes with its conversion charge, its 3-D Secure authentication, its clearings
    (``clearings``, oldest first) and, for the back office (``staff``), its review and who made it and its reversals and
    increments; a posting with its authorization and its original posting.
    """
    keys = list(entries)
    authorization_ids = [pk for _at, pk, source in keys if source == EntrySource.AUTHORIZATION]
    posting_ids = [pk for _at, pk, source in keys if source == EntrySource.POSTING]
    clearings = Prefetch(
        "postings",
        queryset=Posting.objects.filter(kind=PostingKind.CLEARING).order_by("created_at", "id"),
        to_attr="clearings",
    )
    authorizations = (
        Authorization.objects.filter(pk__in=authorization_ids)
        # The 3-D Secure authentication behind an internet payment, joined (the line links it), without the
        # messages as exchanged, which no line shows.
        .select_related("conversion_charge", "authentication")
        .defer(*(f"authentication__{name}" for name in AUTHENTICATION_NOT_SHOWN))
        .prefetch_related(clearings)
    )
    if staff:
        authorizations = authorizations.select_related("review__reviewed_by__staff_member").prefetch_related(
            "adjustments"
        )
    loaded: dict[tuple[str, int], Authorization | Posting] = {
        (EntrySource.AUTHORIZATION, a.pk): a for a in authorizations
    }
    postings = Posting.objects.filter(pk__in=posting_ids).select_related("authorization", "original")
    loaded.update({(EntrySource.POSTING, p.pk): p for p in postings})
    return [loaded[(source, pk)] for _at, pk, source in keys]


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
