"""The audit actions of accounts the bank provisions (see docs/audit.md)."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import Audience, AuditAction, AuditKind, audit_actions_register

audit_actions_register(
    AuditAction(
        "accounts.account.created",
        pgettext_lazy("audit action", "Account opened"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "accounts.account.updated",
        pgettext_lazy("audit action", "Account changed"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
)
