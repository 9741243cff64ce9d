"""The audit actions of the back office: staff sign-in, callers, customer files, staff actions (docs/audit.md).

Each staff action of ``actions.ACTIONS`` is registered as ``backoffice.<name>``
with its past-tense ``done`` label, so a new staff action is registered with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import pgettext_lazy

from kartosfera.backoffice.actions import ACTIONS, StaffAction
from kartosfera.backoffice.models import EnrolmentPurpose
from kartosfera.backoffice.presenters import verification_summary
from kartosfera.backoffice.roles import StaffPermission, StaffRole
from kartosfera.cards.states import StatusReason
from kartosfera.core.audit_actions import (
    Audience,
    AuditAction,
    AuditKind,
    Severity,
    Text,
    audit_actions_register,
    choice_label,
    moment,
    staff_reason,
)
from kartosfera.processing.audit_actions import review_note

BACKOFFICE, STAFF = AuditKind.BACKOFFICE, Audience.STAFF

_SIGN_IN_STEP: dict[str, Text] = {
    "password": pgettext_lazy("audit detail", "wrong password"),
    "code": pgettext_lazy("audit detail", "wrong code"),
    "passkey": pgettext_lazy("audit detail", "passkey not confirmed"),
    "unknown_user": pgettext_lazy("audit detail", "unknown user name"),
}
_SIGN_IN_REFUSAL: dict[str, Text] = {
    "locked": pgettext_lazy("audit detail", "the account is locked"),
    "passkey_required": pgettext_lazy("audit detail", "a code instead of the passkey this account needs"),
}
_ROLES: dict[str, Text] = {role.value: role.label for role in StaffRole}
_REASONS: dict[str, Text] = {reason.value: reason.label for reason in StatusReason}


def _verification(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return verification_summary(dict(after))


def _staff_action(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    # The reason the staff member typed, and what the action set (masked phone, number, cancel reason).
    parts = [str(after.get("reason", ""))]
    parts.append(str(choice_label(_REASONS, after.get("cancel_reason"))))
    parts.extend(str(after.get(key, "")) for key in ("phone_on_file", "portal_phone", "nonresident_id"))
    return " · ".join(part for part in parts if part)


# The back office's own writes that are not staff actions of the registry (ACTIONS), by name.
_OTHER_ACTIONS: dict[str, Text] = {
    StaffPermission.STATEMENT_CORRECT.value: StaffPermission.STATEMENT_CORRECT.label,
    "staff_reset": pgettext_lazy("audit detail", "reset of a staff member's password and authenticator"),
    "staff_disable": pgettext_lazy("audit detail", "disabling a staff account"),
    "staff_enable": pgettext_lazy("audit detail", "enabling a staff account"),
}
_PURPOSES: dict[str, Text] = {purpose.value: purpose.label for purpose in EnrolmentPurpose}


def _refused_action(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    name = str(after.get("action", ""))
    action = ACTIONS.get(name)
    label = action.label if action is not None else _OTHER_ACTIONS.get(name)
    return pgettext_lazy("audit detail", "Action: “%(action)s”") % {"action": label} if label else ""


def _statement_corrected(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    # The corrected statement's number, the correction's, and the reason the staff member gave.
    numbers = f"{after.get('corrects', '')} → {after.get('number', '')}"
    return " · ".join(part for part in (numbers, str(after.get("reason", ""))) if part)


def _sign_in_step(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return choice_label(_SIGN_IN_STEP, after.get("step"))


def _sign_in_refusal(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return choice_label(_SIGN_IN_REFUSAL, after.get("reason"))


def _locked_until(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    until = moment(after.get("until"))
    return pgettext_lazy("audit detail", "until %(until)s") % {"until": until} if until else ""


def _enrolled(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    # The purpose and who issued the link: a supervisor by user name, else an administrator's command (rows
    # written before issuers were recorded name nobody).
    purpose = str(choice_label(_PURPOSES, after.get("purpose")))
    issuer = ""
    if after.get("issued_by"):
        issuer = str(pgettext_lazy("audit detail", "link issued by %(username)s") % {"username": after["issued_by"]})
    elif "issued_by" in after:
        issuer = str(pgettext_lazy("audit detail", "link issued by an administrator's command"))
    return " · ".join(str(part) for part in (purpose, issuer) if part)


def _work_phone_set(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    # The masked numbers (never a full one) and the administrator's reason.
    numbers = f"{before.get('work_phone') or '-'} → {after.get('work_phone', '')}"
    return " · ".join(part for part in (numbers, str(after.get("reason", "")) if for_staff else "") if part)


def _role(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return choice_label(_ROLES, after.get("role"))


def staff_action_audit(action: StaffAction) -> AuditAction:
    """The registry entry of one staff action."""
    return AuditAction(
        f"backoffice.{action.name}",
        action.done,
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.WARNING if action.dangerous else Severity.NOTICE,
        detail=_staff_action,
    )


audit_actions_register(
    *(staff_action_audit(action) for action in ACTIONS.values()),
    AuditAction(
        "backoffice.caller.verified",
        pgettext_lazy("audit action", "Caller verified"),
        BACKOFFICE,
        audience=STAFF,
        detail=_verification,
    ),
    AuditAction(
        "backoffice.caller.verification_failed",
        pgettext_lazy("audit action", "Caller verification failed"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.WARNING,
        detail=_verification,
    ),
    AuditAction(
        "backoffice.customer.viewed",
        pgettext_lazy("audit action", "Customer file opened"),
        BACKOFFICE,
        audience=STAFF,
    ),
    AuditAction(
        "backoffice.action_refused",
        pgettext_lazy("audit action", "Back-office action refused"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.WARNING,
        detail=_refused_action,
    ),
    AuditAction(
        "backoffice.statement_corrected",
        pgettext_lazy("audit action", "Corrected credit card statement issued in the back office"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.NOTICE,
        detail=_statement_corrected,
    ),
    AuditAction(
        "backoffice.authorization_reviewed",
        pgettext_lazy("audit action", "Card payment flagged for review marked as reviewed"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.NOTICE,
        detail=review_note,
    ),
    AuditAction(
        "backoffice.staff.signed_in",
        pgettext_lazy("audit action", "Signed in to the back office"),
        BACKOFFICE,
        audience=STAFF,
    ),
    AuditAction(
        "backoffice.staff.signed_out",
        pgettext_lazy("audit action", "Signed out of the back office"),
        BACKOFFICE,
        audience=STAFF,
    ),
    AuditAction(
        "backoffice.staff.sign_in_failed",
        pgettext_lazy("audit action", "Back-office sign-in failed"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.WARNING,
        detail=_sign_in_step,
    ),
    AuditAction(
        "backoffice.staff.sign_in_refused",
        pgettext_lazy("audit action", "Back-office sign-in refused"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.WARNING,
        detail=_sign_in_refusal,
    ),
    AuditAction(
        "backoffice.staff.locked",
        pgettext_lazy("audit action", "Staff account locked after wrong attempts"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.WARNING,
        detail=_locked_until,
    ),
    AuditAction(
        "backoffice.staff.created",
        pgettext_lazy("audit action", "Staff account created"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.NOTICE,
        detail=_role,
    ),
    AuditAction(
        "backoffice.staff.enrolled",
        pgettext_lazy("audit action", "Own password set and authenticator enrolled through an enrolment link"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.NOTICE,
        detail=_enrolled,
    ),
    AuditAction(
        "backoffice.staff.reset",
        pgettext_lazy("audit action", "Staff password and authenticator reset; enrolment link issued"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.WARNING,
        detail=staff_reason,
    ),
    AuditAction(
        "backoffice.staff.work_phone_set",
        pgettext_lazy("audit action", "Staff work phone set (where enrolment links are sent)"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.WARNING,
        detail=_work_phone_set,
    ),
    AuditAction(
        "backoffice.staff.disabled",
        pgettext_lazy("audit action", "Staff account disabled"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.WARNING,
        detail=staff_reason,
    ),
    AuditAction(
        "backoffice.staff.enabled",
        pgettext_lazy("audit action", "Staff account enabled again"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.NOTICE,
        detail=staff_reason,
    ),
    AuditAction(
        "backoffice.staff.password_changed",
        pgettext_lazy("audit action", "Own back-office password changed"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.NOTICE,
    ),
    AuditAction(
        "backoffice.staff.password_change_refused",
        pgettext_lazy("audit action", "Own back-office password change refused"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.WARNING,
        detail=_sign_in_step,
    ),
    AuditAction(
        "backoffice.staff.reauthentication_refused",
        pgettext_lazy("audit action", "Confirmation before changing own passkeys refused"),
        BACKOFFICE,
        audience=STAFF,
        severity=Severity.WARNING,
        detail=_sign_in_step,
    ),
)
