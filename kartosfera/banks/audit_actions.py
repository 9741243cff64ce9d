"""The audit actions of banks and branches (see docs/audit.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import Audience, AuditAction, AuditKind, Severity, Text, audit_actions_register


def _malware_found(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    signature = after.get("signature")
    if not isinstance(signature, str) or not signature:
        return ""
    return pgettext_lazy("audit detail", "the antivirus scanner found: %(signature)s") % {"signature": signature}


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
        "banks.bank.logo_refused",
        pgettext_lazy("audit action", "Bank logo refused: malicious content"),
        AuditKind.BANK,
        audience=Audience.STAFF,
        severity=Severity.WARNING,
        detail=_malware_found,
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
