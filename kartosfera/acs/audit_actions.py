"""The audit actions of the ACS: each 3-D Secure answer, each authentication value used (see docs/audit.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import AuditAction, AuditKind, Text, audit_actions_register

_ANSWERS: dict[str, Text] = {
    "Y": pgettext_lazy("audit action", "Internet payment authenticated without confirmation (3-D Secure)"),
    "C": pgettext_lazy("audit action", "Internet payment to be confirmed (3-D Secure)"),
    "N": pgettext_lazy("audit action", "Internet payment not authenticated (3-D Secure)"),
    "R": pgettext_lazy("audit action", "Internet payment rejected (3-D Secure)"),
}


_CHALLENGE_ENDS: dict[str, Text] = {
    "Y": pgettext_lazy("audit action", "Internet payment confirmed with the 3-D Secure PIN and SMS code"),
    "N": pgettext_lazy("audit action", "Internet payment not confirmed (3-D Secure)"),
}


def _challenge_end(after: Mapping[str, Any]) -> Text | None:
    return _CHALLENGE_ENDS.get(str(after.get("trans_status")))


def _answer(after: Mapping[str, Any]) -> Text | None:
    return _ANSWERS.get(str(after.get("trans_status")))


def _merchant(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return str(after.get("merchant") or "")


audit_actions_register(
    AuditAction(
        "acs.authentication.answered",
        pgettext_lazy("audit action", "3-D Secure authentication answered"),
        AuditKind.SECURE3D,
        variant=_answer,
        detail=_merchant,
    ),
    AuditAction(
        "acs.challenge.ended",
        pgettext_lazy("audit action", "3-D Secure confirmation ended"),
        AuditKind.SECURE3D,
        variant=_challenge_end,
        detail=_merchant,
    ),
    AuditAction(
        "acs.challenge.code_sent",
        pgettext_lazy("audit action", "3-D Secure payment code sent by SMS"),
        AuditKind.SECURE3D,
        detail=_merchant,
    ),
    AuditAction(
        "acs.rreq.delivered",
        pgettext_lazy("audit action", "3-D Secure result delivered to the card scheme"),
        AuditKind.SECURE3D,
    ),
    AuditAction(
        "acs.rreq.retry_scheduled",
        pgettext_lazy("audit action", "3-D Secure result not delivered to the card scheme; to be retried"),
        AuditKind.SECURE3D,
    ),
    AuditAction(
        "acs.rreq.failed",
        pgettext_lazy("audit action", "3-D Secure result could not be delivered to the card scheme"),
        AuditKind.SECURE3D,
    ),
    AuditAction(
        "acs.authentication.used",
        pgettext_lazy("audit action", "3-D Secure authentication used for a payment"),
        AuditKind.SECURE3D,
    ),
)
