"""Back-office reads: finding a customer, the customer's file, the staff activity log."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from kartosfera.backoffice.actions import CustomerState
from kartosfera.backoffice.models import CallerVerification, StaffMember
from kartosfera.cards.models import Card
from kartosfera.core.audit_actions import audit_action_names
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.identity import normalize_phone
from kartosfera.customers.models import Customer
from kartosfera.secure3d.models import ThreeDSProfile
from kartosfera.users.models import User

SEARCH_LIMIT = 50
SEARCH_MIN_LENGTH = 2
# The customer page shows the newest events; the whole trail is paged (customer_trail).
AUDIT_TRAIL_PREVIEW = 10
_SEPARATORS = re.compile(r"[\s\-/]")


def customer_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[Customer]:
    """Customers matching ``query`` as a PESEL, bank ID, identification number, phone, card last 4 or name.

    One box for all: what is typed is tried as each kind it can be (an
    11-digit number as a PESEL, 4 digits as a card's last digits, a number as a
    phone) and the matches are joined. Names match by the start of any word,
    every word typed must match.
    """
    text = (query or "").strip()
    if len(text) < SEARCH_MIN_LENGTH:
        return []
    compact = _SEPARATORS.sub("", text)
    condition = Q(reference__iexact=compact) | Q(nonresident_id__iexact=compact)
    if compact.isdigit() and len(compact) == 11:
        condition |= Q(pesel=compact)
    if compact.isdigit() and len(compact) == 4:
        condition |= Q(cards__pan_last4=compact)
    if sum(ch.isdigit() for ch in compact) >= 7 and re.fullmatch(r"\+?[0-9()]+", compact):
        try:
            phone = normalize_phone(compact)
        except ValidationError:
            phone = ""
        if phone:
            condition |= Q(phone_on_file=phone) | Q(portal_user__portal_phone=phone)
    words = [w for w in re.split(r"[\s,]+", text) if w and not any(ch.isdigit() for ch in w)]
    if words:
        by_name = Q()
        for word in words:
            by_name &= (
                Q(first_name__istartswith=word) | Q(last_name__istartswith=word) | Q(last_name__icontains=f"-{word}")
            )
        condition |= by_name
    # distinct(): a customer with several cards ending in the same digits is listed once.
    customers = Customer.objects.filter(condition).distinct().select_related("portal_user")
    return list(customers.order_by("last_name", "first_name", "pk")[:limit])


@dataclass(frozen=True)
class CustomerFile:
    """Everything the customer page shows, read in a fixed number of queries."""

    customer: Customer
    portal_user: User | None
    cards: list[Card]
    threeds: ThreeDSProfile | None
    threeds_locked: bool
    audit_trail: list[AuditEvent]
    # The full names of the staff members in ``audit_trail``, by user id (as actor_id stores it).
    staff_names: dict[str, str]

    @property
    def state(self) -> CustomerState:
        return CustomerState(customer=self.customer, portal_user=self.portal_user, threeds_locked=self.threeds_locked)


def customer_get(*, customer_id: int) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).first()


def customer_card_get(*, customer: Customer, card_id: int) -> Card | None:
    """A card only through its owner: another customer's card id finds nothing."""
    return Card.objects.with_display_relations().filter(customer=customer, pk=card_id).first()


def customer_file(*, customer: Customer, now: dt.datetime | None = None) -> CustomerFile:
    now = now or timezone.now()
    portal_user = User.objects.filter(customer=customer).first()
    cards = list(Card.objects.with_display_relations().filter(customer=customer).order_by("-created_at", "-pk"))
    threeds = ThreeDSProfile.objects.filter(customer=customer).first()
    threeds_locked = bool(threeds and threeds.locked_until and now < threeds.locked_until)
    trail = list(customer_trail(customer=customer)[:AUDIT_TRAIL_PREVIEW])
    return CustomerFile(customer, portal_user, cards, threeds, threeds_locked, trail, staff_names_for(trail))


def customer_trail(*, customer: Customer, kind: str = "") -> QuerySet[AuditEvent]:
    """The customer's whole audit trail, newest first; only actions of ``kind`` (a registry kind) when given."""
    events = AuditEvent.objects.filter(customer_id=customer.pk)
    if kind:
        events = events.filter(action__in=audit_action_names(kinds=[kind]))
    return events.order_by("-occurred_at", "-pk")


def staff_names_for(events: Iterable[AuditEvent]) -> dict[str, str]:
    """The full names of the staff members who acted in ``events``, by user id, in one query (none when none)."""
    ids = {int(e.actor_id) for e in events if e.actor_type == ActorType.STAFF and e.actor_id.isdigit()}
    if not ids:
        return {}
    return {
        str(user_id): name
        for user_id, name in StaffMember.objects.filter(user_id__in=ids).values_list("user_id", "full_name")
    }


def customer_names_for(events: Iterable[AuditEvent]) -> dict[int, str]:
    """The names of the customers ``events`` belong to, by id, in one query (none when none)."""
    ids = {e.customer_id for e in events if e.customer_id is not None}
    if not ids:
        return {}
    customers = Customer.objects.filter(pk__in=ids).only("pk", "first_name", "last_name")
    return {c.pk: f"{c.first_name} {c.last_name}" for c in customers}


def caller_verification_current(
    *, staff: User, customer: Customer, now: dt.datetime | None = None
) -> CallerVerification | None:
    """This staff member's latest verification of this customer, if it passed and is still valid."""
    latest = caller_verification_latest(staff=staff, customer=customer)
    return latest if latest is not None and latest.is_valid(now) else None


def caller_verification_latest(*, staff: User, customer: Customer) -> CallerVerification | None:
    return CallerVerification.objects.filter(staff=staff, customer=customer).order_by("-created_at", "-pk").first()


@dataclass(frozen=True)
class ActivityFilter:
    staff_id: int | None = None
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def staff_activity(*, filters: ActivityFilter) -> QuerySet[AuditEvent]:
    """Every action of bank staff, newest first, filtered by staff member, action and dates (Warsaw days)."""
    events = AuditEvent.objects.filter(actor_type=ActorType.STAFF, action__startswith="backoffice.")
    if filters.staff_id is not None:
        events = events.filter(actor_id=str(filters.staff_id))
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.date_from is not None:
        events = events.filter(occurred_at__gte=_day_start(filters.date_from))
    if filters.date_to is not None:
        events = events.filter(occurred_at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    return events.order_by("-occurred_at", "-pk")


def staff_members() -> list[StaffMember]:
    return list(StaffMember.objects.select_related("user").order_by("full_name", "pk"))
