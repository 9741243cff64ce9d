"""The audit actions of cards, card products and card keys (see docs/audit.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import pgettext_lazy

from kartosfera.cards.operations import Operation
from kartosfera.cards.states import StatusReason
from kartosfera.core.audit_actions import (
    Audience,
    AuditAction,
    AuditKind,
    Severity,
    Text,
    audit_actions_register,
    choice_label,
)

CARDS, BANK = AuditKind.CARDS, AuditKind.BANK

# The card operations by name, as a refused one is described.
OPERATION_LABELS: dict[str, Text] = {
    Operation.ACTIVATE: pgettext_lazy("card operation", "Activation"),
    Operation.BLOCK: pgettext_lazy("card operation", "Temporary block"),
    Operation.UNBLOCK: pgettext_lazy("card operation", "Unblocking"),
    Operation.CANCEL: pgettext_lazy("card operation", "Cancellation"),
    Operation.CONTACTLESS_OFF: pgettext_lazy("card operation", "Switching contactless payments off"),
    Operation.CONTACTLESS_ON: pgettext_lazy("card operation", "Switching contactless payments on"),
    Operation.LIMITS_CHANGE: pgettext_lazy("card operation", "Change of limits"),
    Operation.PIN_CHANGE: pgettext_lazy("card operation", "Change of PIN"),
    Operation.MOBILE_PAYMENTS_ACTIVATE: pgettext_lazy("card operation", "Activation of mobile payments"),
    Operation.MOBILE_PAYMENTS_DEACTIVATE: pgettext_lazy("card operation", "Switching mobile payments off"),
    Operation.THREEDS: pgettext_lazy("card operation", "3-D Secure"),
    Operation.CONTROLS_CHANGE: pgettext_lazy("card operation", "Change of the card's controls"),
}
_REASONS: dict[str, Text] = {reason.value: reason.label for reason in StatusReason}


def _activated_or_unblocked(after: Mapping[str, Any]) -> Text | None:
    if after.get("status_reason") == StatusReason.ACTIVATED:
        return pgettext_lazy("audit action", "Card activated")
    if after.get("status_reason") == StatusReason.UNBLOCKED:
        return pgettext_lazy("audit action", "Card unblocked")
    return None


def _status_reason(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return choice_label(_REASONS, after.get("status_reason"))


def _block(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    # The note the holder typed when blocking (kept with the block only).
    return str(after.get("block_note", ""))


def _refused_operation(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return choice_label(OPERATION_LABELS, after.get("operation"))


audit_actions_register(
    AuditAction("cards.card.issued", pgettext_lazy("audit action", "Card issued"), CARDS),
    AuditAction(
        "cards.card.active",
        pgettext_lazy("audit action", "Card activated or unblocked"),
        CARDS,
        severity=Severity.NOTICE,
        variant=_activated_or_unblocked,
    ),
    AuditAction(
        "cards.card.blocked",
        pgettext_lazy("audit action", "Card temporarily blocked"),
        CARDS,
        severity=Severity.WARNING,
        detail=_block,
    ),
    AuditAction(
        "cards.card.cancelled",
        pgettext_lazy("audit action", "Card cancelled"),
        CARDS,
        severity=Severity.WARNING,
        detail=_status_reason,
    ),
    AuditAction(
        "cards.card.contactless_enabled",
        pgettext_lazy("audit action", "Contactless payments switched on"),
        CARDS,
    ),
    AuditAction(
        "cards.card.contactless_disabled",
        pgettext_lazy("audit action", "Contactless payments switched off"),
        CARDS,
    ),
    AuditAction(
        "cards.card.limits_changed",
        pgettext_lazy("audit action", "Limits changed"),
        CARDS,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "cards.card.controls_changed",
        pgettext_lazy("audit action", "Card's controls changed"),
        CARDS,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "cards.card.limits_raised_temporarily",
        pgettext_lazy("audit action", "Limits raised temporarily"),
        CARDS,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "cards.card.temporary_raise_ended",
        pgettext_lazy("audit action", "Temporary raise of limits ended"),
        CARDS,
    ),
    AuditAction(
        "cards.card.pin_changed",
        pgettext_lazy("audit action", "PIN changed"),
        CARDS,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "cards.card.mobile_payments_activated",
        pgettext_lazy("audit action", "Mobile payments activated"),
        CARDS,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "cards.card.mobile_payments_deactivated",
        pgettext_lazy("audit action", "Mobile payments switched off"),
        CARDS,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "cards.card.product_terms_applied",
        pgettext_lazy("audit action", "Product terms applied by the bank"),
        CARDS,
    ),
    AuditAction(
        "cards.card.operation_refused",
        pgettext_lazy("audit action", "Operation refused"),
        CARDS,
        severity=Severity.WARNING,
        detail=_refused_operation,
    ),
    AuditAction(
        "cards.card.wrong_pin_reset",
        pgettext_lazy("audit action", "Wrong-PIN counter reset"),
        CARDS,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "cards.product.created",
        pgettext_lazy("audit action", "Card product created"),
        BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "cards.product.updated",
        pgettext_lazy("audit action", "Card product changed"),
        BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "cards.credit_terms.set",
        pgettext_lazy("audit action", "Credit product's terms set"),
        BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "cards.nbp_reference_rate.recorded",
        pgettext_lazy("audit action", "NBP reference rate recorded"),
        BANK,
        audience=Audience.STAFF,
    ),
    AuditAction(
        "cards.keys.rotated",
        pgettext_lazy("audit action", "Card keys rotated"),
        BANK,
        audience=Audience.STAFF,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "cards.keys.rotation_failed",
        pgettext_lazy("audit action", "Card key rotation failed"),
        BANK,
        audience=Audience.STAFF,
        severity=Severity.WARNING,
    ),
)
