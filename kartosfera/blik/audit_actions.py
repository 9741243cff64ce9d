"""The audit actions of BLIK (see docs/audit.md and docs/phone-payments.md)."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import Audience, AuditAction, AuditKind, audit_actions_register

audit_actions_register(
    AuditAction(
        "blik.service.switched_off",
        pgettext_lazy("audit action", "BLIK switched off"),
        AuditKind.SETTINGS,
    ),
    AuditAction(
        "blik.service.switched_on",
        pgettext_lazy("audit action", "BLIK switched on in the BS Pay app"),
        AuditKind.SETTINGS,
    ),
    AuditAction(
        "blik.sync.confirmed",
        pgettext_lazy("audit action", "BLIK change confirmed by the BLIK system"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "blik.sync.failed",
        pgettext_lazy("audit action", "BLIK change not taken by the BLIK system"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
)
