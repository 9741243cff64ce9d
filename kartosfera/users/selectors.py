from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

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
# The audit actions a cardholder sees on "Security" (their own account's trail),
# with how the page names them. Another app's security action (a password or
# phone change, an own login set) appears once its action is listed here.
SECURITY_EVENT_LABELS: dict[str, Promise] = {
    "users.login.succeeded": _("Signed in"),
    "users.login.failed": _("Failed sign-in attempt"),
    "users.login.refused": _("Sign-in refused (access locked or blocked)"),
    "users.login.code_failed": _("Wrong SMS code at sign-in"),
    "users.logout": _("Signed out"),
    "users.session.expired": _("Signed out automatically (session ended)"),
    "users.access.locked": _("Access locked after wrong passwords"),
    "users.access.unlocked": _("Access unlocked by the bank"),
    "users.access.blocked": _("Portal access blocked"),
    "users.access.unblocked": _("Portal access unblocked by the bank"),
    "users.registration.started": _("Registration started"),
    "users.registration.completed": _("Registered and password set"),
    "users.password.changed": _("Password changed"),
    "users.phone.changed": _("Portal phone number changed"),
    "users.own_login.changed": _("Own login set"),
    "sca.code.sent": _("SMS code sent"),
    "sca.code.resent": _("New SMS code sent"),
    "sca.code.failed": _("Wrong SMS code entered"),
    # 3-D Secure (kartosfera/secure3d/services.py): the code for internet payments and its lock.
    "secure3d.pin.set": _("3D Secure code set"),
    "secure3d.pin.changed": _("3D Secure code changed"),
    "secure3d.failure": _("Wrong 3D Secure code or SMS code in an internet payment"),
    "secure3d.locked": _("Internet payments locked after wrong 3D Secure codes"),
    "secure3d.unlocked": _("Internet payments unlocked by the bank"),
    "secure3d.exemption.changed": _("Exemption for low-value internet payments changed"),
    "secure3d.merchant.added": _("Trusted merchant added"),
    "secure3d.merchant.removed": _("Trusted merchant removed"),
}
_CODE_SENT_LABELS: dict[str, Promise] = {
    ChallengePurpose.REGISTRATION: _("Activation password sent by SMS"),
    ChallengePurpose.LOGIN: _("SMS code for signing in sent"),
    ChallengePurpose.PHONE_VERIFICATION: _("SMS code sent to verify a phone number"),
}


@dataclass(frozen=True)
class SecurityEvent:
    """One line of a cardholder's security history, ready to show."""

    occurred_at: dt.datetime
    action: str
    label: str
    detail: str
    ip: str | None


def _describe(event: AuditEvent) -> tuple[str, str]:
    after: dict[str, Any] = event.after if isinstance(event.after, dict) else {}
    purpose = after.get("purpose", "")
    if event.action in {"sca.code.sent", "sca.code.resent"} and purpose in _CODE_SENT_LABELS:
        label = _CODE_SENT_LABELS[purpose]
    else:
        label = SECURITY_EVENT_LABELS[event.action]
    # A step-up code names the operation it confirmed (set by the service, never secret).
    detail = str(after.get("description", "")) if purpose == ChallengePurpose.STEP_UP else ""
    if event.action == "secure3d.exemption.changed" and "low_value_exemption" in after:
        detail = str(_("Switched on") if after["low_value_exemption"] else _("Switched off"))
    elif event.action in {"secure3d.merchant.added", "secure3d.merchant.removed"}:
        before: dict[str, Any] = event.before if isinstance(event.before, dict) else {}
        detail = str(after.get("name") or before.get("name") or "")
    return str(label), detail


def security_events_for_user(*, user: User, limit: int = 10) -> list[SecurityEvent]:
    """The user's latest security events (sign-ins, failures, locks, codes, changes), newest first, in one query."""
    if user.customer_id is None:
        return []
    events = (
        AuditEvent.objects.filter(customer_id=user.customer_id, action__in=SECURITY_EVENT_LABELS)
        .only("occurred_at", "action", "before", "after", "ip")
        .order_by("-occurred_at", "-id")[:limit]
    )
    result = []
    for event in events:
        label, detail = _describe(event)
        result.append(
            SecurityEvent(occurred_at=event.occurred_at, action=event.action, label=label, detail=detail, ip=event.ip)
        )
    return result
