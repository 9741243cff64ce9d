"""The audit actions of BS Pay devices: activation codes, activation, blocks, app sessions, refused app requests.

See docs/audit.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import (
    AuditAction,
    AuditKind,
    Severity,
    Text,
    audit_actions_register,
    staff_reason,
)

# A device is a way into the holder's cards: its events belong with access and sign-in.
ACCESS = AuditKind.ACCESS


def _device_name(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    name = str(after.get("name") or "")
    reason = staff_reason(before, after, for_staff)
    return f"{name} ({reason})" if name and reason else name or reason


def _refusal(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    # The machine code of the refusal (e.g. signature_invalid) is for staff only.
    return str(after.get("reason", "")) if for_staff else ""


def _factor(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    # "pin" or "passkey": which second factor opened the session.
    return str(after.get("factor", ""))


audit_actions_register(
    AuditAction(
        "devices.activation_code.issued",
        pgettext_lazy("audit action", "BS Pay activation code generated"),
        ACCESS,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "devices.activation_code.shown",
        pgettext_lazy("audit action", "BS Pay activation code shown"),
        ACCESS,
    ),
    AuditAction(
        "devices.activation.refused",
        pgettext_lazy("audit action", "BS Pay activation refused"),
        ACCESS,
        severity=Severity.WARNING,
        detail=_refusal,
    ),
    AuditAction(
        "devices.device.activated",
        pgettext_lazy("audit action", "BS Pay device activated"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=_device_name,
    ),
    AuditAction(
        "devices.device.blocked",
        pgettext_lazy("audit action", "BS Pay device temporarily blocked"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=_device_name,
    ),
    AuditAction(
        "devices.device.unblocked",
        pgettext_lazy("audit action", "BS Pay device unblocked"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=_device_name,
    ),
    AuditAction(
        "devices.device.blocked_permanently",
        pgettext_lazy("audit action", "BS Pay device permanently blocked"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=_device_name,
    ),
    AuditAction(
        "devices.request.refused",
        pgettext_lazy("audit action", "BS Pay app request refused"),
        ACCESS,
        severity=Severity.WARNING,
        detail=_refusal,
    ),
    AuditAction(
        "devices.session.opened",
        pgettext_lazy("audit action", "BS Pay app session opened"),
        ACCESS,
        detail=_factor,
    ),
    AuditAction(
        "devices.session.refused",
        pgettext_lazy("audit action", "BS Pay app session refused (wrong PIN or passkey)"),
        ACCESS,
        severity=Severity.WARNING,
        detail=_refusal,
    ),
    AuditAction(
        "devices.session.ended",
        pgettext_lazy("audit action", "BS Pay app session ended"),
        ACCESS,
    ),
    AuditAction(
        "devices.pin.changed",
        pgettext_lazy("audit action", "BS Pay app PIN changed"),
        ACCESS,
        severity=Severity.NOTICE,
        detail=_device_name,
    ),
)
