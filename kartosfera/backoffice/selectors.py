"""Back-office reads: finding a customer, the customer's file, the staff activity log, the review queue.

Every read takes the staff member's ``scope`` (banks/scope.py) explicitly: a bank's staff find and see only
the customers of their bank and, of those, only the bank's cards, history and events; anything else is
None (the view's 404), never somebody else's data [law: Prawo bankowe art. 104].
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from kartosfera.backoffice.actions import CustomerState
from kartosfera.backoffice.models import CallerVerification, StaffEnrolment, StaffMember
from kartosfera.banks.scope import BankScope
from kartosfera.blik.selectors import BlikState, blik_state
from kartosfera.cards.models import Card
from kartosfera.core.audit_actions import audit_action_names
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.identity import normalize_phone
from kartosfera.customers.models import BankMembership, Customer
from kartosfera.processing import reviews
from kartosfera.processing.models import Authorization
from kartosfera.secure3d.models import ThreeDSProfile
from kartosfera.users.models import User

SEARCH_LIMIT = 50
SEARCH_MIN_LENGTH = 2
# The customer page shows the newest events; the whole trail is paged (customer_trail).
AUDIT_TRAIL_PREVIEW = 10
_SEPARATORS = re.compile(r"[\s\-/]")


def _memberships(scope: BankScope) -> Prefetch[str, QuerySet[BankMembership], str]:
    """The memberships the scope may see (a bank's staff: their bank's only), as ``scoped_memberships``."""
    memberships = scope.owned(BankMembership.objects.select_related("bank")).order_by("bank__short_name", "pk")
    return Prefetch("memberships", queryset=memberships, to_attr="scoped_memberships")


def customer_search(*, query: str, scope: BankScope, limit: int = SEARCH_LIMIT) -> list[Customer]:
    """The scope's customers matching ``query`` as a PESEL, bank ID, identification number, phone, card last 4 or name.

    One box for all: what is typed is tried as each kind it can be (an
    11-digit number as a PESEL, 4 digits as a card's last digits, a number as a
    phone) and the matches are joined. Names match by the start of any word,
    every word typed must match. A bank ID is the bank's customer number (a
    bank's staff: their bank's numbers only) or the group's internal reference.
    Each customer comes with ``scoped_memberships``.
    """
    text = (query or "").strip()
    if len(text) < SEARCH_MIN_LENGTH:
        return []
    compact = _SEPARATORS.sub("", text)
    # Each multi-valued condition names its bank in the same Q, so that it is one join: another bank's
    # membership number or card must not find the person for a bank's staff.
    in_bank: dict[str, int] = {} if scope.bank_id is None else {"bank_id": scope.bank_id}
    # A bank's number may have its own dashes or slashes ("B-000456"): tried as typed and without them.
    by_number = Q(memberships__customer_number__iexact=compact) | Q(
        memberships__customer_number__iexact="".join(text.split())
    )
    condition = (
        Q(reference__iexact=compact)
        | Q(nonresident_id__iexact=compact)
        | (by_number & Q(**_prefixed("memberships__", in_bank)))
    )
    if compact.isdigit() and len(compact) == 11:
        condition |= Q(pesel=compact)
    if compact.isdigit() and len(compact) == 4:
        condition |= Q(**{"cards__pan_last4": compact, **_prefixed("cards__", in_bank)})
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
    customers = scope.customers(Customer.objects.filter(condition)).distinct().select_related("portal_user")
    return list(customers.prefetch_related(_memberships(scope)).order_by("last_name", "first_name", "pk")[:limit])


def _prefixed(prefix: str, lookups: dict[str, int]) -> dict[str, int]:
    return {prefix + name: value for name, value in lookups.items()}


@dataclass(frozen=True)
class CustomerFile:
    """Everything the customer page shows, read in a fixed number of queries."""

    customer: Customer
    portal_user: User | None
    # The memberships and cards the scope may see: a bank's staff, their bank's only.
    memberships: list[BankMembership]
    cards: list[Card]
    threeds: ThreeDSProfile | None
    threeds_locked: bool
    blik: BlikState
    audit_trail: list[AuditEvent]
    # The full names of the staff members in ``audit_trail``, by user id (as actor_id stores it).
    staff_names: dict[str, str]
    # Who at the bank stopped all the customer's payments ("" when the customer did, or none is stopped).
    payments_stopped_by: str = ""

    @property
    def state(self) -> CustomerState:
        return CustomerState(
            customer=self.customer,
            portal_user=self.portal_user,
            threeds_locked=self.threeds_locked,
            blik_enabled=self.blik.enabled,
        )


def customer_get(*, customer_id: int, scope: BankScope) -> Customer | None:
    """The customer, if the scope may see them (a bank's staff: a customer of their bank), else None."""
    return scope.customers(Customer.objects.filter(pk=customer_id)).first()


def customer_card_get(*, customer: Customer, card_id: int, scope: BankScope) -> Card | None:
    """A card only through its owner and inside the scope: another customer's or another bank's card finds nothing."""
    return scope.owned(Card.objects.with_display_relations().filter(customer=customer, pk=card_id)).first()


def customer_file(*, customer: Customer, scope: BankScope, now: dt.datetime | None = None) -> CustomerFile:
    """The customer page's data as the scope may see it, in a fixed number of queries."""
    now = now or timezone.now()
    portal_user = User.objects.filter(customer=customer).first()
    memberships = list(scope.owned(BankMembership.objects.filter(customer=customer).select_related("bank")))
    cards = list(
        scope.owned(Card.objects.with_display_relations().select_related("bank").filter(customer=customer)).order_by(
            "-created_at", "-pk"
        )
    )
    # The portal access and the 3-D Secure profile are the person's, shared by every bank they are a customer of.
    threeds = ThreeDSProfile.objects.filter(customer=customer).first()
    threeds_locked = bool(threeds and threeds.locked_until and now < threeds.locked_until)
    trail = list(customer_trail(customer=customer, scope=scope)[:AUDIT_TRAIL_PREVIEW])
    return CustomerFile(
        customer,
        portal_user,
        memberships,
        cards,
        threeds,
        threeds_locked,
        blik_state(customer),
        trail,
        staff_names_for(trail),
        payments_stopped_by_name(customer=customer),
    )


def payments_stopped_by_name(*, customer: Customer) -> str:
    """The staff member who stopped all the customer's payments (one query; none when the customer did).

    The stop is the person's, shared by every bank they are a customer of (like BLIK): its audit rows are the
    person's too, and name the staff member to each bank's staff as the trail does.
    """
    if not customer.payments_stopped or not customer.payments_stopped_by.isdigit():
        return ""
    name = StaffMember.objects.filter(user_id=int(customer.payments_stopped_by)).values_list("full_name", flat=True)
    return name.first() or ""


@dataclass(frozen=True)
class ThreeDSLock:
    """Whether the customer's internet payments are locked after wrong 3DS PINs or codes, and until when."""

    locked: bool
    until: dt.datetime | None
    # Wrong 3DS PINs or codes in a row since the last right one (the third locks).
    failed_attempts: int


def threeds_lock(*, customer: Customer, now: dt.datetime | None = None) -> ThreeDSLock:
    """The customer's 3-D Secure lock (the person's: shared by every bank they are a customer of), one query."""
    now = now or timezone.now()
    profile = ThreeDSProfile.objects.filter(customer=customer).only("locked_until", "failed_attempts").first()
    if profile is None:
        return ThreeDSLock(locked=False, until=None, failed_attempts=0)
    locked = profile.locked_until is not None and now < profile.locked_until
    until = profile.locked_until if locked else None
    return ThreeDSLock(locked=locked, until=until, failed_attempts=profile.failed_attempts)


def customer_trail(*, customer: Customer, scope: BankScope, kind: str = "") -> QuerySet[AuditEvent]:
    """The customer's audit trail the scope may read, newest first; only actions of ``kind`` when given."""
    events = scope.events(AuditEvent.objects.filter(customer_id=customer.pk))
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


def staff_activity(*, filters: ActivityFilter, scope: BankScope) -> QuerySet[AuditEvent]:
    """The staff's actions the scope may see, newest first, filtered by staff member, action and dates (Warsaw days).

    A bank's supervisor or auditor sees the events of their bank and the bank-less ones (the person's:
    portal access, 3-D Secure, phone; a group agent's look at a file) of the bank's customers; the group,
    every event.
    """
    events = AuditEvent.objects.filter(actor_type=ActorType.STAFF, action__startswith="backoffice.")
    if scope.bank_id is not None:
        members = BankMembership.objects.filter(bank_id=scope.bank_id).values("customer_id")
        events = events.filter(Q(bank_id=scope.bank_id) | Q(bank_id__isnull=True, customer_id__in=members))
    if filters.staff_id is not None:
        events = events.filter(actor_id=str(filters.staff_id))
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.date_from is not None:
        events = events.filter(occurred_at__gte=_day_start(filters.date_from))
    if filters.date_to is not None:
        events = events.filter(occurred_at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    return events.order_by("-occurred_at", "-pk")


def staff_members(*, scope: BankScope) -> list[StaffMember]:
    """The staff the activity log's filter offers: a bank's own staff, or everybody for the group."""
    return list(scope.owned(StaffMember.objects.select_related("user")).order_by("full_name", "pk"))


def staff_accounts(*, scope: BankScope) -> list[StaffMember]:
    """The staff accounts a supervisor manages (a bank's own staff, or everybody for the group), by name.

    Each carries ``has_authenticator`` (a confirmed TOTP device) and ``enrolment_until`` (the expiry of an
    open enrolment link, or None), in one query.
    """
    open_links = StaffEnrolment.objects.filter(
        member=OuterRef("pk"), used_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-expires_at")
    members = StaffMember.objects.select_related("user", "bank").annotate(
        has_authenticator=Exists(TOTPDevice.objects.filter(user_id=OuterRef("user_id"), confirmed=True)),
        enrolment_until=Subquery(open_links.values("expires_at")[:1]),
    )
    return list(scope.owned(members).order_by("full_name", "pk"))


def review_queue(*, scope: BankScope, state: str = reviews.ReviewState.TO_REVIEW) -> QuerySet[Authorization]:
    """The flagged card payments of the scope's cards (a bank's staff: their bank's cards only), newest first."""
    return scope.owned(reviews.authorization_review_queue(state=state), field="card__bank_id")


def review_authorization_get(*, authorization_id: int, scope: BankScope) -> Authorization | None:
    """A flagged authorization of a card inside the scope, or None (the view's 404)."""
    flagged = Authorization.objects.filter(pk=authorization_id, needs_review=True)
    return scope.owned(flagged, field="card__bank_id").first()
