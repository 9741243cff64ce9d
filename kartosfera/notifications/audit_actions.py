"""The audit actions of text messages (see docs/audit.md)."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import Audience, AuditAction, AuditKind, Severity, audit_actions_register

audit_actions_register(
    AuditAction(
        "notifications.sms.failed",
        pgettext_lazy("audit action", "Text message not delivered"),
        AuditKind.BANK,
        audience=Audience.STAFF,
        severity=Severity.WARNING,
    ),
)
