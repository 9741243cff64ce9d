"""The audit actions of the card core (see docs/audit.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import Audience, AuditAction, AuditKind, Severity, Text, audit_actions_register


def review_note(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    """The note the reviewer wrote, if any."""
    return str(after.get("note") or "")


audit_actions_register(
    AuditAction(
        "processing.authorization.approved",
        pgettext_lazy("audit action", "Card payment approved"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.authorization.declined",
        pgettext_lazy("audit action", "Card payment declined"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.authorization.reversed",
        pgettext_lazy("audit action", "Card payment reversed"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.authorization.incremented",
        pgettext_lazy("audit action", "Card payment increased"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.increment.declined",
        pgettext_lazy("audit action", "Card payment increase declined"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.advice.recorded",
        pgettext_lazy("audit action", "Card payment decided by the card scheme recorded"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "processing.authorization.reviewed",
        pgettext_lazy("audit action", "Card payment flagged for review reviewed"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
        detail=review_note,
    ),
    AuditAction(
        "processing.authorization.expired",
        pgettext_lazy("audit action", "Card payment hold expired"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.card.pin_blocked",
        pgettext_lazy("audit action", "Card PIN blocked after wrong PINs"),
        AuditKind.CARDS,
        audience=Audience.BOTH,
        severity=Severity.WARNING,
    ),
    AuditAction(
        "processing.clearing.posted",
        pgettext_lazy("audit action", "Card payment settled"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.refund.posted",
        pgettext_lazy("audit action", "Card refund credited"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.chargeback.posted",
        pgettext_lazy("audit action", "Card payment returned after a won dispute"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.clearing.reversed",
        pgettext_lazy("audit action", "Card payment settlement reversed by the acquirer"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.conversion_rate.set",
        pgettext_lazy("audit action", "Currency conversion rate provisioned"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.bank_posting.posted",
        pgettext_lazy("audit action", "Account posting booked by the bank"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.repayment.posted",
        pgettext_lazy("audit action", "Credit card repayment booked by the bank"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.ecb_rates.set",
        pgettext_lazy("audit action", "ECB reference rates provisioned"),
        AuditKind.BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "processing.conversion_charge.recorded",
        pgettext_lazy("audit action", "Currency conversion charge of a card payment recorded"),
        AuditKind.CARDS,
        audience=Audience.STAFF,
    ),
)
