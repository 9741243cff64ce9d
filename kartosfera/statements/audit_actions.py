"""The audit actions of the statements (see docs/audit.md)."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import Audience, AuditAction, AuditKind, audit_actions_register

audit_actions_register(
    AuditAction(
        "statements.statement.closed",
        pgettext_lazy("audit action", "Credit card statement issued"),
        AuditKind.CARDS,
        audience=Audience.BOTH,
    ),
    AuditAction(
        "statements.statement.corrected",
        pgettext_lazy("audit action", "Corrected credit card statement issued"),
        AuditKind.CARDS,
        audience=Audience.BOTH,
    ),
    AuditAction(
        "statements.document.stored",
        pgettext_lazy("audit action", "Statement PDF issued for download"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
)
