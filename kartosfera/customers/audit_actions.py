"""The audit actions of customer records the bank provisions (see docs/audit.md)."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import Audience, AuditAction, AuditKind, audit_actions_register

_SMS_SWITCHED = {
    True: pgettext_lazy("audit action", "Text messages about currency conversion charges switched on"),
    False: pgettext_lazy("audit action", "Text messages about currency conversion charges switched off"),
}

audit_actions_register(
    AuditAction(
        "customers.customer.created",
        pgettext_lazy("audit action", "Customer record created"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "customers.customer.updated",
        pgettext_lazy("audit action", "Customer data changed"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "customers.conversion_charge_sms.changed",
        pgettext_lazy("audit action", "Text messages about currency conversion charges switched on or off"),
        AuditKind.SETTINGS,
        audience=Audience.BOTH,
        variant=lambda after: _SMS_SWITCHED.get(bool(after["enabled"])) if "enabled" in after else None,
    ),
)
