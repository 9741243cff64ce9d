"""The audit actions of notices to cardholders (see docs/audit.md)."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import Audience, AuditAction, AuditKind, audit_actions_register

_SWITCHED = {
    True: pgettext_lazy("audit action", "Text messages about payments declined by your settings switched on"),
    False: pgettext_lazy("audit action", "Text messages about payments declined by your settings switched off"),
}

audit_actions_register(
    AuditAction(
        "notices.decline_sms.changed",
        pgettext_lazy("audit action", "Text messages about payments declined by your settings switched on or off"),
        AuditKind.SETTINGS,
        audience=Audience.BOTH,
        variant=lambda after: _SWITCHED.get(bool(after["enabled"])) if "enabled" in after else None,
    ),
)
