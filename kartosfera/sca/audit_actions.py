"""The audit actions of SMS codes and confirmed operations (see docs/audit.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import Audience, AuditAction, AuditKind, Severity, Text, audit_actions_register
from kartosfera.sca.models import ChallengePurpose

CODES = AuditKind.CODES

_SENT_FOR: dict[str, Text] = {
    ChallengePurpose.REGISTRATION: pgettext_lazy("audit action", "Activation password sent by SMS"),
    ChallengePurpose.LOGIN: pgettext_lazy("audit action", "SMS code for signing in sent"),
    ChallengePurpose.PHONE_VERIFICATION: pgettext_lazy("audit action", "SMS code sent to verify a phone number"),
}


def _sent_for(after: Mapping[str, Any]) -> Text | None:
    return _SENT_FOR.get(str(after.get("purpose", "")))


def _operation(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    # The words the service wrote for the SMS text ("zmiana limitu ... karty *1234"), never secret.
    if after.get("purpose") != ChallengePurpose.STEP_UP:
        return ""
    return str(after.get("description", ""))


def _tries_left(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    left = after.get("attempts_left")
    if not isinstance(left, int):
        return ""
    return pgettext_lazy("audit detail", "tries left: %(left)d") % {"left": left}


audit_actions_register(
    AuditAction(
        "sca.code.sent",
        pgettext_lazy("audit action", "SMS code sent"),
        CODES,
        variant=_sent_for,
        detail=_operation,
    ),
    AuditAction(
        "sca.code.resent",
        pgettext_lazy("audit action", "New SMS code sent"),
        CODES,
    ),
    AuditAction(
        "sca.code.failed",
        pgettext_lazy("audit action", "Wrong SMS code entered"),
        CODES,
        severity=Severity.WARNING,
        detail=_tries_left,
    ),
    AuditAction(
        "sca.code.confirmed",
        pgettext_lazy("audit action", "SMS code confirmed"),
        CODES,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "sca.code.replayed",
        pgettext_lazy("audit action", "An SMS code already used was entered again"),
        CODES,
        audience=Audience.STAFF,
        severity=Severity.WARNING,
    ),
    AuditAction(
        "sca.code.expired",
        pgettext_lazy("audit action", "An expired SMS code was entered"),
        CODES,
        audience=Audience.STAFF,
        severity=Severity.WARNING,
    ),
    AuditAction(
        "sca.code.refused",
        pgettext_lazy("audit action", "An SMS code was entered after the confirmation had ended"),
        CODES,
        audience=Audience.STAFF,
        severity=Severity.WARNING,
    ),
    AuditAction(
        "sca.challenge.cancelled",
        pgettext_lazy("audit action", "Confirmation cancelled"),
        CODES,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "sca.operation.completed",
        pgettext_lazy("audit action", "Confirmed operation carried out"),
        CODES,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "sca.operation.refused",
        pgettext_lazy("audit action", "Confirmed operation refused"),
        CODES,
        audience=Audience.STAFF,
        severity=Severity.WARNING,
    ),
    AuditAction(
        "sca.passkey.requested",
        pgettext_lazy("audit action", "Confirmation with a passkey requested"),
        CODES,
        detail=_operation,
    ),
    AuditAction(
        "sca.passkey.confirmed",
        pgettext_lazy("audit action", "Operation confirmed with a passkey"),
        CODES,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "sca.passkey.failed",
        pgettext_lazy("audit action", "Passkey confirmation failed"),
        CODES,
        severity=Severity.WARNING,
        detail=_tries_left,
    ),
    AuditAction(
        "sca.passkey.refused",
        pgettext_lazy("audit action", "A passkey answer came after the confirmation had ended"),
        CODES,
        audience=Audience.STAFF,
        severity=Severity.WARNING,
    ),
)
