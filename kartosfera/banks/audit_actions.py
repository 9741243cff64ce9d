"""The audit actions of banks and branches (see docs/audit.md)."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import Audience, AuditAction, AuditKind, audit_actions_register

audit_actions_register(
    AuditAction(
        "banks.bank.created", pgettext_lazy("audit action", "Bank added"), AuditKind.BANK, audience=Audience.STAFF
    ),
    AuditAction(
        "banks.bank.updated",
        pgettext_lazy("audit action", "Bank data changed"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "banks.bank.logo_changed",
        pgettext_lazy("audit action", "Bank logo changed"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "banks.branch.created", pgettext_lazy("audit action", "Branch added"), AuditKind.BANK, audience=Audience.STAFF
    ),
    AuditAction(
        "banks.branch.updated",
        pgettext_lazy("audit action", "Branch data changed"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "customers.membership.created",
        pgettext_lazy("audit action", "Customer of a bank registered"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
)
