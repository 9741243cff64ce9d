from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import Q

from kartosfera.core.audit_actions import Audience, AuditKind, audit_action_names
from kartosfera.core.audit_trail import TrailRow, trail_rows
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer
from kartosfera.sca.models import ChallengePurpose, SmsChallenge
from kartosfera.users.models import User, UserKind


def normalize_identifier(identifier: str) -> str:
    """The identifier as looked up: no spaces anywhere (people type "850314 10128")."""
    return "".join((identifier or "").split())


def cardholder_find_by_identifier(*, identifier: str) -> User | None:
    """The cardholder whose PESEL, bank-assigned ID or own login is ``identifier``."""
    value = normalize_identifier(identifier)
    if not value:
        return None
    return (
        User.objects.select_related("customer")
        .filter(kind=UserKind.CUSTOMER)
        .filter(Q(customer__pesel=value) | Q(customer__nonresident_id__iexact=value) | Q(login__iexact=value))
        .order_by("pk")
        .first()
    )


def customer_find_for_registration(*, identifier: str) -> Customer | None:
    """The customer whose PESEL or bank-assigned ID is ``identifier`` (not an own login)."""
    value = normalize_identifier(identifier)
    if not value:
        return None
    return Customer.objects.filter(Q(pesel=value) | Q(nonresident_id=value.upper())).order_by("pk").first()


def _as_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def login_challenge_get(*, user_id: int, public_id: str) -> SmsChallenge | None:
    """The login challenge a session is waiting for, only if it is this user's."""
    challenge_id = _as_uuid(public_id)
    if challenge_id is None:
        return None
    return (
        SmsChallenge.objects.select_related("user", "user__customer")
        .filter(public_id=challenge_id, user_id=user_id, purpose=ChallengePurpose.LOGIN)
        .first()
    )


def registration_challenge_get(*, customer_id: int, public_id: str) -> SmsChallenge | None:
    """The activation-password challenge a registering session is waiting for, only if it is this customer's."""
    challenge_id = _as_uuid(public_id)
    if challenge_id is None:
        return None
    return (
        SmsChallenge.objects.select_related("customer")
        .filter(public_id=challenge_id, customer_id=customer_id, purpose=ChallengePurpose.REGISTRATION)
        .first()
    )


def portal_user_for_customer(*, customer: Customer) -> User | None:
    """The customer's portal user, or None before they first register."""
    return User.objects.filter(customer=customer).first()


def customer_get(*, customer_id: int) -> Customer | None:
    """The customer a registering session is about."""
    return Customer.objects.filter(pk=customer_id).first()


def login_failures_since(*, user: User, since: dt.datetime | None) -> int:
    """How many sign-in attempts on this account failed after ``since`` (all of them when None)."""
    events = AuditEvent.objects.filter(customer_id=user.customer_id, action="users.login.failed")
    if since is not None:
        events = events.filter(occurred_at__gt=since)
    return events.count()


# --- Security events ----------------------------------------------------------------
# What a cardholder sees on "Security": their own account's events of these kinds
# whose audience includes the cardholder, in the registry's words
# (kartosfera.core.audit_actions; each app registers its actions).
SECURITY_HISTORY_KINDS = (AuditKind.ACCESS, AuditKind.CODES, AuditKind.SETTINGS, AuditKind.SECURE3D)


def security_events_for_user(*, user: User, limit: int = 10) -> list[TrailRow]:
    """The user's latest security events (sign-ins, failures, locks, codes, changes), newest first, in one query."""
    if user.customer_id is None:
        return []
    actions = audit_action_names(audience=Audience.CARDHOLDER, kinds=SECURITY_HISTORY_KINDS)
    events = (
        AuditEvent.objects.filter(customer_id=user.customer_id, action__in=actions)
        .only("occurred_at", "action", "actor_type", "actor_id", "before", "after", "ip", "customer_id")
        .order_by("-occurred_at", "-id")[:limit]
    )
    return trail_rows(events, viewer=Audience.CARDHOLDER)
