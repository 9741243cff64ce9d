"""The audit actions of the ACS: each 3-D Secure answer, each authentication value used (see docs/audit.md).

The holder's security history and the back office's trail read an answer and a challenge's end as one line
each, with the merchant, the amount and the result in words (acs/presenters.py, the same words as the
authentication pages): the C answer reads "to be confirmed", its end "confirmed" or "not confirmed" and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import pgettext, pgettext_lazy

from kartosfera.acs.presenters import AuthenticationResult, Outcome, authentication_amount, authentication_result
from kartosfera.core.audit_actions import AuditAction, AuditKind, Text, audit_actions_register

_LABELS: dict[str, Text] = {
    Outcome.EXEMPT: pgettext_lazy("audit action", "Internet payment authenticated without confirmation (3-D Secure)"),
    Outcome.PENDING: pgettext_lazy("audit action", "Internet payment to be confirmed (3-D Secure)"),
    Outcome.CONFIRMED: pgettext_lazy("audit action", "Internet payment confirmed with the 3-D Secure PIN and SMS code"),
    Outcome.NOT_CONFIRMED: pgettext_lazy("audit action", "Internet payment not confirmed (3-D Secure)"),
    Outcome.REFUSED: pgettext_lazy("audit action", "Internet payment rejected (3-D Secure)"),
}


def _result(after: Mapping[str, Any]) -> AuthenticationResult:
    return authentication_result(
        trans_status=str(after.get("trans_status") or ""),
        reason=str(after.get("trans_status_reason") or ""),
        rule=str(after.get("decision_rule") or ""),
        exemption=str(after.get("exemption") or ""),
        challenge_cancel=str(after.get("challenge_cancel") or ""),
    )


def _label(after: Mapping[str, Any]) -> Text | None:
    if not after.get("trans_status"):
        return None
    return _LABELS.get(_result(after).outcome)


def _detail(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    """The merchant, the amount in the reader's format, and why (a low-value payment, a timeout...)."""
    merchant = str(after.get("merchant") or "")
    amount_minor, currency = after.get("amount_minor"), str(after.get("currency") or "")
    amount = authentication_amount(int(amount_minor), currency) if isinstance(amount_minor, int) and currency else ""
    what = ", ".join(part for part in (merchant, amount) if part)
    why = _result(after).reason if after.get("trans_status") else ""
    if why and what:
        return pgettext("3-D Secure audit detail", "%(what)s (%(why)s)") % {"what": what, "why": why}
    return what or why


def _merchant(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return str(after.get("merchant") or "")


audit_actions_register(
    AuditAction(
        "acs.authentication.answered",
        pgettext_lazy("audit action", "3-D Secure authentication answered"),
        AuditKind.SECURE3D,
        variant=_label,
        detail=_detail,
    ),
    AuditAction(
        "acs.challenge.ended",
        pgettext_lazy("audit action", "3-D Secure confirmation ended"),
        AuditKind.SECURE3D,
        variant=_label,
        detail=_detail,
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
