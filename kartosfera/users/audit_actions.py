"""The audit actions of portal access: sign-in, lockout, registration, settings (see docs/audit.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import (
    Audience,
    AuditAction,
    AuditKind,
    Severity,
    Text,
    audit_actions_register,
    choice_label,
    moment,
    staff_reason,
)

ACCESS, SETTINGS = AuditKind.ACCESS, AuditKind.SETTINGS

# The stored reasons (users.services.LoginFailure and the refusals) in words.
_LOGIN_FAILURE: dict[str, Text] = {
    "unknown_identifier": pgettext_lazy("audit detail", "unknown identifier"),
    "bad_credentials": pgettext_lazy("audit detail", "wrong password"),
    "inactive": pgettext_lazy("audit detail", "the account is inactive"),
    "locked": pgettext_lazy("audit detail", "the right password while access was locked"),
    "code_attempts_exceeded": pgettext_lazy("audit detail", "the SMS code was wrong too many times"),
    "code_abandoned": pgettext_lazy("audit detail", "the SMS code was not entered"),
    "passkey_refused": pgettext_lazy("audit detail", "the passkey was not confirmed"),
}
_LOGIN_REFUSAL: dict[str, Text] = {
    "blocked": pgettext_lazy("audit detail", "portal access is blocked"),
    "no_phone": pgettext_lazy("audit detail", "no phone number for the codes"),
}
_REGISTRATION_REFUSAL: dict[str, Text] = {
    "not_found": pgettext_lazy("audit detail", "identifier not found"),
    "no_phone": pgettext_lazy("audit detail", "no phone number on file"),
    "activation_attempts_exceeded": pgettext_lazy("audit detail", "the activation password was wrong too many times"),
}
_SESSION_END: dict[str, Text] = {
    "idle": pgettext_lazy("audit detail", "after a period without activity"),
    "absolute": pgettext_lazy("audit detail", "the longest session time was reached"),
}


def _login_failure(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return choice_label(_LOGIN_FAILURE, after.get("reason"))


def _login_refusal(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return choice_label(_LOGIN_REFUSAL, after.get("reason"))


def _registration_refusal(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return choice_label(_REGISTRATION_REFUSAL, after.get("reason"))


def _session_end(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return choice_label(_SESSION_END, after.get("reason"))


def _sessions_ended(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    count = after.get("count")
    if not isinstance(count, int):
        return ""
    if after.get("scope") == "one":
        return pgettext_lazy("audit detail", "one other session")
    return pgettext_lazy("audit detail", "all other sessions: %(count)d") % {"count": count}


def _tries_left(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    left = after.get("attempts_left")
    if not isinstance(left, int):
        return ""
    return pgettext_lazy("audit detail", "tries left: %(left)d") % {"left": left}


def _locked_until(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    until = moment(after.get("until"))
    return pgettext_lazy("audit detail", "until %(until)s") % {"until": until} if until else ""


def _new_phone(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    phone = after.get("portal_phone")  # stored masked
    return pgettext_lazy("audit detail", "new number %(phone)s") % {"phone": phone} if phone else ""


def _passkey_name(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return str(after.get("name") or "")


def _passkey_refusal(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    # The machine reason (e.g. unknown_credential, sign_count) is for staff only.
    return str(after.get("reason", "")) if for_staff else ""


def _passkey_only(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    if after.get("passkey_only"):
        return pgettext_lazy("audit detail", "signing in with a passkey only")
    return pgettext_lazy("audit detail", "signing in with a passkey or a code")


_USER_KINDS: dict[str, Text] = {
    "customer": pgettext_lazy("audit detail", "every cardholder"),
    "staff": pgettext_lazy("audit detail", "every staff member"),
}


def _sessions_ended_all(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    # Whose sessions, how many users, and the reason the operator gave.
    parts = [
        str(choice_label(_USER_KINDS, after.get("kind"))),
        str(after.get("users", "")),
        str(after.get("reason", "")),
    ]
    return " · ".join(part for part in parts if part)


audit_actions_register(
    AuditAction(
        "users.login.succeeded",
        pgettext_lazy("audit action", "Signed in to the portal"),
        ACCESS,
    ),
    AuditAction(
        "users.login.failed",
        pgettext_lazy("audit action", "Sign-in failed"),
        ACCESS,
        severity=Severity.WARNING,
        detail=_login_failure,
    ),
    AuditAction(
        "users.login.refused",
        pgettext_lazy("audit action", "Sign-in refused"),
        ACCESS,
        severity=Severity.WARNING,
        detail=_login_refusal,
    ),
    AuditAction(
        "users.login.code_failed",
        pgettext_lazy("audit action", "Wrong SMS code entered at sign-in"),
        ACCESS,
        severity=Severity.WARNING,
        detail=_tries_left,
    ),
    AuditAction("users.logout", pgettext_lazy("audit action", "Signed out"), ACCESS),
    AuditAction(
        "users.session.expired",
        pgettext_lazy("audit action", "Signed out automatically"),
        ACCESS,
        detail=_session_end,
    ),
    AuditAction(
        "users.session.ended",
        pgettext_lazy("audit action", "Other sessions ended by the user"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=_sessions_ended,
    ),
    AuditAction(
        "users.access.locked",
        pgettext_lazy("audit action", "Access locked after wrong passwords"),
        ACCESS,
        severity=Severity.WARNING,
        detail=_locked_until,
    ),
    AuditAction(
        "users.access.unlocked",
        pgettext_lazy("audit action", "Access unlocked"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=staff_reason,
    ),
    AuditAction(
        "users.access.blocked",
        pgettext_lazy("audit action", "Portal access blocked"),
        ACCESS,
        severity=Severity.WARNING,
    ),
    AuditAction(
        "users.access.unblocked",
        pgettext_lazy("audit action", "Portal access unblocked"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=staff_reason,
    ),
    AuditAction("users.registration.started", pgettext_lazy("audit action", "Registration started"), ACCESS),
    AuditAction(
        "users.registration.completed",
        pgettext_lazy("audit action", "Registered and password set"),
        ACCESS,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "users.registration.refused",
        pgettext_lazy("audit action", "Registration refused"),
        ACCESS,
        severity=Severity.WARNING,
        detail=_registration_refusal,
    ),
    AuditAction(
        "users.password.changed",
        pgettext_lazy("audit action", "Password changed"),
        SETTINGS,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "users.phone.changed",
        pgettext_lazy("audit action", "Portal phone number changed"),
        SETTINGS,
        severity=Severity.NOTICE,
        detail=_new_phone,
    ),
    AuditAction(
        "users.own_login.changed",
        pgettext_lazy("audit action", "Own login set"),
        SETTINGS,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "users.sessions.ended",
        pgettext_lazy("audit action", "Every session ended by the bank"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=staff_reason,
    ),
    AuditAction(
        "users.sessions.ended_all",
        pgettext_lazy("audit action", "Every session of all users of one kind ended"),
        ACCESS,
        audience=Audience.STAFF,
        severity=Severity.WARNING,
        detail=_sessions_ended_all,
    ),
    AuditAction(
        "users.passkey.added",
        pgettext_lazy("audit action", "Passkey added"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=_passkey_name,
    ),
    AuditAction(
        "users.passkey.removed",
        pgettext_lazy("audit action", "Passkey removed"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=_passkey_name,
    ),
    AuditAction(
        "users.passkey.add_refused",
        pgettext_lazy("audit action", "Passkey not added"),
        ACCESS,
        severity=Severity.WARNING,
        detail=_passkey_refusal,
    ),
    AuditAction(
        "users.passkey.use_refused",
        pgettext_lazy("audit action", "Passkey not confirmed"),
        ACCESS,
        severity=Severity.WARNING,
        detail=_passkey_refusal,
    ),
    AuditAction(
        "users.passkey_only.changed",
        pgettext_lazy("audit action", "Sign-in with a passkey only changed"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=_passkey_only,
    ),
)
