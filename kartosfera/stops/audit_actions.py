"""The audit actions of "stop everything" (docs/stop-everything.md, docs/audit.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import AuditAction, AuditKind, Severity, audit_actions_register


def _reason(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> str:
    # The staff's reason is for staff; the customer sees that the bank did it, from the label.
    return str(after.get("reason") or "") if for_staff else ""


audit_actions_register(
    AuditAction(
        "stops.payments.stopped",
        pgettext_lazy("audit action", "All payments stopped"),
        AuditKind.SETTINGS,
        severity=Severity.NOTICE,
        detail=_reason,
    ),
    AuditAction(
        "stops.payments.stop_lifted",
        pgettext_lazy("audit action", "Stop of all payments lifted"),
        AuditKind.SETTINGS,
        severity=Severity.NOTICE,
        detail=_reason,
    ),
)
