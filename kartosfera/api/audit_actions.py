"""The audit actions of the bank's API keys (see docs/audit.md)."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import Audience, AuditAction, AuditKind, Severity, audit_actions_register

audit_actions_register(
    AuditAction(
        "api.api_key.created",
        pgettext_lazy("audit action", "API key created"),
        AuditKind.BANK,
        audience=Audience.STAFF,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "api.api_key.client_certs_changed",
        pgettext_lazy("audit action", "API key's client certificates changed"),
        AuditKind.BANK,
        audience=Audience.STAFF,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "api.api_key.revoked",
        pgettext_lazy("audit action", "API key revoked"),
        AuditKind.BANK,
        audience=Audience.STAFF,
        severity=Severity.NOTICE,
    ),
)
