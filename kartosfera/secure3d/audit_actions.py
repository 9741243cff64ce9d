"""The audit actions of 3-D Secure: the PIN, the exemption, trusted merchants, the lock (see docs/audit.md)."""

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
    moment,
    staff_reason,
)

SECURE3D = AuditKind.SECURE3D


def _exemption(after: Mapping[str, Any]) -> Text | None:
    if after.get("low_value_exemption") is True:
        return pgettext_lazy("audit action", "Low-value payments without confirmation switched on")
    if after.get("low_value_exemption") is False:
        return pgettext_lazy("audit action", "Low-value payments without confirmation switched off")
    return None


def _merchant(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return str(after.get("name") or before.get("name") or "")


def _locked_until(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    until = moment(after.get("locked_until"))
    return pgettext_lazy("audit detail", "until %(until)s") % {"until": until} if until else ""


audit_actions_register(
    AuditAction(
        "secure3d.pin.set",
        pgettext_lazy("audit action", "3-D Secure PIN set"),
        SECURE3D,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "secure3d.pin.changed",
        pgettext_lazy("audit action", "3-D Secure PIN changed"),
        SECURE3D,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "secure3d.exemption.changed",
        pgettext_lazy("audit action", "Low-value payments without confirmation switched"),
        SECURE3D,
        variant=_exemption,
    ),
    AuditAction(
        "secure3d.merchant.added",
        pgettext_lazy("audit action", "Trusted merchant added"),
        SECURE3D,
        detail=_merchant,
    ),
    AuditAction(
        "secure3d.merchant.removed",
        pgettext_lazy("audit action", "Trusted merchant removed"),
        SECURE3D,
        detail=_merchant,
    ),
    AuditAction(
        "secure3d.failure",
        pgettext_lazy("audit action", "Wrong 3-D Secure PIN or code entered"),
        SECURE3D,
        severity=Severity.WARNING,
    ),
    AuditAction(
        "secure3d.locked",
        pgettext_lazy("audit action", "Internet payments blocked after wrong 3-D Secure PINs or codes"),
        SECURE3D,
        severity=Severity.WARNING,
        detail=_locked_until,
    ),
    AuditAction(
        "secure3d.unlocked",
        pgettext_lazy("audit action", "Internet payments unblocked"),
        SECURE3D,
        severity=Severity.NOTICE,
        detail=staff_reason,
    ),
)
