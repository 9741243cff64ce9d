"""Staff accounts after their creation: enrolment links, resets, disabling, sessions and the own password.

[ASVS 5.0 6.4.6, 6.4.4, 6.5.6, 6.2.2, 7.4.5] Whoever creates a staff account or resets its sign-in (a
supervisor, or an operator's ``create_staff_user`` / ``staff_account``) never chooses nor sees the password,
nor the link that sets it: a one-time enrolment link (random, stored as a SHA-256 digest, single use, 24
hours) goes by SMS to the member's own work phone, which only an administrator with server access sets
(``create_staff_user --phone``, ``staff_user_phone``), and through it the staff member sets their own
password and enrols a new authenticator. Whoever started it learns only the masked number and the expiry.
A reset removes every TOTP device and the password at once and ends every session; so does disabling the
account (re-enabling it revives no old session: the session epoch, ``User._get_session_auth_hash``).
Proving the person's identity before a reset is the bank's HR process (docs/backoffice.md "Staff accounts").

Each change writes its audit row in the same transaction, carrying the member's bank so that the bank's
supervisors see it in the staff activity log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from kartosfera.backoffice.auth import staff_login_code_allowed, staff_member_validate_new
from kartosfera.backoffice.models import ENROLMENT_VALIDITY, EnrolmentPurpose, StaffEnrolment, StaffMember
from kartosfera.backoffice.passwords import validate_staff_password
from kartosfera.backoffice.roles import StaffPermission
from kartosfera.backoffice.services import _require_reason, staff_require
from kartosfera.backoffice.sms_texts import SMS_STAFF_ENROLMENT
from kartosfera.banks.models import Bank
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.customers.identity import mask_phone, normalize_phone
from kartosfera.notifications.services import sms_send
from kartosfera.users.backends import password_matches
from kartosfera.users.models import Passkey, User, UserKind

# The name of an enrolled authenticator, as the staff member's app and the admin show it.
DEVICE_NAME = "authenticator"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- Enrolment links ----------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentSent:
    """Where an enrolment link went and until when it works: all that whoever started it learns of it."""

    member: StaffMember
    sent_to: str  # the work phone, masked (+48 *** *** 789)
    expires_at: dt.datetime


def _no_work_phone(member: StaffMember) -> DomainError:
    return DomainError(
        _(
            "%(name)s has no work phone on file, so the enrolment link cannot be sent. An administrator must set "
            "the work phone first (manage.py staff_user_phone)."
        )
        % {"name": member.full_name},
        code="no_work_phone",
    )


def staff_enrolment_link(token: str) -> str:
    """The absolute address of the enrolment link of ``token``: BACKOFFICE_BASE_URL and the link's path."""
    if not settings.BACKOFFICE_BASE_URL:
        # The deploy check (backoffice.E002) says so first; without an address no link can be sent.
        raise ImproperlyConfigured("BACKOFFICE_BASE_URL is not set: staff enrolment links cannot be sent")
    return settings.BACKOFFICE_BASE_URL + reverse("backoffice:enrol_start", args=[token])


def _enrolments_revoke(member: StaffMember) -> int:
    """End the member's open links (and the authenticators being enrolled through them); how many."""
    open_links = StaffEnrolment.objects.filter(member=member, used_at__isnull=True)
    TOTPDevice.objects.filter(pk__in=open_links.exclude(device=None).values("device_id"), confirmed=False).delete()
    return open_links.delete()[0]


def staff_enrolment_issue(*, member: StaffMember, purpose: str, issued_by: User | None) -> EnrolmentSent:
    """A new enrolment link for ``member``, sent by SMS to their work phone alone; older links stop working.

    The token lives only in this call and in the text message (stored encrypted, wiped once the gateway took
    it: notifications/services.py); the database keeps its digest, and neither the caller, the audit trail
    nor the logs ever get it [ASVS 5.0 6.4.6]. ``issued_by``: the supervisor who started it (None: an
    administrator's command). DomainError ``no_work_phone`` when the member has none. Runs inside the caller's
    transaction (create or reset), which writes the audit row; the SMS leaves after its commit.
    """
    if not member.work_phone:
        raise _no_work_phone(member)
    _enrolments_revoke(member)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    enrolment = StaffEnrolment.objects.create(
        member=member,
        token_digest=_digest(token),
        purpose=EnrolmentPurpose(purpose),
        created_at=now,
        expires_at=now + ENROLMENT_VALIDITY,
        issued_by=issued_by,
    )
    sms_send(
        to=member.work_phone,
        message=SMS_STAFF_ENROLMENT.render(
            hours=int(ENROLMENT_VALIDITY.total_seconds() // 3600), link=staff_enrolment_link(token)
        ),
        purpose="backoffice.staff.enrolment",
        bank=member.bank,
    )
    return EnrolmentSent(member=member, sent_to=mask_phone(member.work_phone), expires_at=enrolment.expires_at)


def staff_enrolment_find(*, token: str) -> StaffEnrolment | None:
    """The open enrolment of ``token`` (not used, not expired, of an active account), or None."""
    if not token or len(token) > 100:
        return None
    enrolment = StaffEnrolment.objects.select_related("member__user").filter(token_digest=_digest(token)).first()
    return enrolment if enrolment is not None and _usable(enrolment) else None


def staff_enrolment_get(*, enrolment_id: int) -> StaffEnrolment | None:
    """The open enrolment ``enrolment_id`` (the one whose link this browser opened), or None."""
    enrolment = StaffEnrolment.objects.select_related("member__user").filter(pk=enrolment_id).first()
    return enrolment if enrolment is not None and _usable(enrolment) else None


def _usable(enrolment: StaffEnrolment) -> bool:
    return enrolment.is_open() and enrolment.member.user.is_active


@transaction.atomic
def staff_enrolment_open(*, enrolment: StaffEnrolment) -> TOTPDevice:
    """The link is opened: a new authenticator key for this opening.

    A key shown to whoever opened the link before (the supervisor who handed it over, a mail gateway that
    renders links) dies with its unconfirmed device, so the key the member confirms is known only to the
    session that opened the link last.
    """
    locked = StaffEnrolment.objects.select_for_update().get(pk=enrolment.pk)
    earlier = locked.device
    locked.device = TOTPDevice.objects.create(user=locked.member.user, name=DEVICE_NAME, confirmed=False)
    locked.save(update_fields=["device"])
    if earlier is not None and not earlier.confirmed:
        earlier.delete()
    return locked.device


@transaction.atomic
def staff_enrolment_device(*, enrolment: StaffEnrolment) -> TOTPDevice:
    """The authenticator being enrolled through ``enrolment`` (made on first use; unconfirmed until proven)."""
    locked = StaffEnrolment.objects.select_for_update().get(pk=enrolment.pk)
    if locked.device is None:
        locked.device = TOTPDevice.objects.create(user=locked.member.user, name=DEVICE_NAME, confirmed=False)
        locked.save(update_fields=["device"])
    return locked.device


@transaction.atomic
def staff_enrolment_complete(*, enrolment: StaffEnrolment, password: str, code: str) -> StaffMember:
    """Set the member's own password and confirm the new authenticator with ``code``; the link is spent.

    Every other TOTP device of the member is removed and every session ends; the lockout count starts
    again. ValidationFailed (``password`` or ``code``) or DomainError (the link is no longer valid) leave
    everything as it was.
    """
    locked = StaffEnrolment.objects.select_for_update().select_related("member__user").get(pk=enrolment.pk)
    if not _usable(locked) or locked.device is None:
        raise DomainError(_("This link is no longer valid. Ask your supervisor for a new one."), code="link_invalid")
    member = locked.member
    user = User.objects.select_for_update().get(pk=member.user_id)
    try:
        validate_staff_password(password, username=user.username, full_name=member.full_name)
    except ValidationError as exc:
        raise ValidationFailed({"new_password": " ".join(exc.messages)}) from None
    device = TOTPDevice.objects.select_for_update().get(pk=locked.device.pk)
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == device.digits and device.verify_token(code)):
        raise ValidationFailed({"code": _("The code is not correct. Enter the code the app shows now.")})
    now = timezone.now()
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    user.set_password(password)
    user.password_changed_at = now
    user.failed_login_count = 0
    user.locked_until = None
    user.session_epoch += 1
    user.save(update_fields=["password", "password_changed_at", "failed_login_count", "locked_until", "session_epoch"])
    locked.used_at = now
    locked.save(update_fields=["used_at"])
    # Read apart: a nullable join cannot be locked with the link (PostgreSQL refuses FOR UPDATE on it).
    issuer = User.objects.filter(pk=locked.issued_by_id).first() if locked.issued_by_id else None
    audit_record(
        actor=Actor.for_user(user),
        action="backoffice.staff.enrolled",
        obj=member,
        bank_id=member.bank_id,
        # Who started the enrolment that set this password: a supervisor, or (None) an administrator's command,
        # whose own row (created, reset) names it.
        after={
            "purpose": locked.purpose,
            "issued_by_id": issuer.pk if issuer is not None else None,
            "issued_by": issuer.get_username() if issuer is not None else None,
        },
    )
    return member


def staff_work_phone_normalize(phone: str) -> str:
    """``phone`` in E.164 (a number without a country code is Polish), or ValidationFailed on ``phone``."""
    if not (phone or "").strip():
        raise ValidationFailed({"phone": _("This field is required.")})
    try:
        return normalize_phone(phone)
    except ValidationError as exc:
        raise ValidationFailed({"phone": " ".join(exc.messages)}) from None


@transaction.atomic
def staff_member_invite(
    *, actor: Actor, username: str, full_name: str, role: str, phone: str, unit: str = "", bank: Bank | None = None
) -> EnrolmentSent:
    """A new staff account without a password or authenticator; its enrolment link goes by SMS to ``phone``.

    ``create_staff_user``: the administrator gives the employee's work mobile, and the link goes there alone;
    only the employee sets the password and enrols the authenticator app [ASVS 5.0 6.4.6]. Until then nobody
    can sign in to the account. Every invalid field is reported at once, and nothing is created.
    """
    errors: dict[str, str] = {}
    try:
        phone = staff_work_phone_normalize(phone)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    try:
        username, full_name = staff_member_validate_new(
            username=username, full_name=full_name, role=role, password=None, bank=bank
        )
    except ValidationFailed as exc:
        errors = {**exc.field_errors, **errors}
    if errors:
        raise ValidationFailed(errors)
    user = User.objects.create_user(username=username, password=None, kind=UserKind.STAFF)
    member = StaffMember.objects.create(
        user=user, full_name=full_name, role=role, unit=unit.strip(), bank=bank, work_phone=phone
    )
    sent = staff_enrolment_issue(member=member, purpose=EnrolmentPurpose.NEW, issued_by=None)
    audit_record(
        actor=actor,
        action="backoffice.staff.created",
        obj=member,
        bank_id=bank.pk if bank else None,
        after={
            "username": username,
            "role": role,
            "unit": member.unit,
            "bank": bank.code if bank else None,
            "link_sent_to": sent.sent_to,
            "link_expires": sent.expires_at.isoformat(),
        },
    )
    return sent


@transaction.atomic
def staff_work_phone_set(*, actor: Actor, member: StaffMember, phone: str, reason: str) -> StaffMember:
    """Set the member's work mobile, where their enrolment links go (an administrator's ``staff_user_phone``).

    Never offered in the back office: a supervisor who could change it could send a member's link to
    themselves [ASVS 5.0 6.4.6]. An open link (sent to the number before) stops working: a number is changed
    because the old phone is lost, or was wrong.
    """
    reason = _require_reason(reason)
    phone = staff_work_phone_normalize(phone)
    locked = StaffMember.objects.select_for_update().get(pk=member.pk)
    before = locked.work_phone
    locked.work_phone = phone
    locked.save(update_fields=["work_phone"])
    revoked = _enrolments_revoke(locked)
    audit_record(
        actor=actor,
        action="backoffice.staff.work_phone_set",
        obj=locked,
        bank_id=locked.bank_id,
        before={"work_phone": mask_phone(before)},
        after={"reason": reason, "work_phone": mask_phone(phone), "links_revoked": revoked},
    )
    return locked


# --- Reset, disable, enable (a supervisor or an operator's command) ----------------------------


def _require_manageable(staff: User, member: StaffMember) -> None:
    """A supervisor manages the staff of their scope (404 outside it), never their own account."""
    staff_require(staff, StaffPermission.STAFF_ACCOUNT_MANAGE)
    bank_id = staff.staff_member.bank_id
    if bank_id is not None and member.bank_id != bank_id:
        raise Http404
    if member.user_id == staff.pk:
        raise PermissionDenied


def staff_member_manageable_get(*, staff: User, member_id: int) -> StaffMember:
    """The staff member ``member_id`` that ``staff`` may manage: Http404 outside their scope, 403 for themselves."""
    member = StaffMember.objects.select_related("user", "bank").filter(pk=member_id).first()
    if member is None:
        raise Http404
    _require_manageable(staff, member)
    return member


@transaction.atomic
def staff_account_reset(
    *, actor: Actor, member: StaffMember, reason: str, issued_by: User | None = None
) -> EnrolmentSent:
    """Start a new enrolment: the password and every TOTP device go at once, every session ends.

    The person's identity has been proven by the bank's HR process before (a lost authenticator, a
    forgotten password). ``issued_by``: the supervisor (None: an administrator's ``staff_account``). The new
    link goes by SMS to the member's work phone; whoever started the reset
    learns only where (masked) and until when. Without a work phone on file nothing changes (DomainError
    ``no_work_phone``): the member keeps their password and authenticator until an administrator sets one.
    """
    reason = _require_reason(reason)
    user = User.objects.select_for_update().get(pk=member.user_id)
    if not user.is_active:
        raise DomainError(_("The account is disabled: enable it first."), code="account_disabled")
    # The number read under a lock that a change of it (``staff_work_phone_set``) waits for, so that the link
    # never goes to a number replaced meanwhile; checked before anything is removed.
    member = StaffMember.objects.select_for_update().get(pk=member.pk)
    if not member.work_phone:
        raise _no_work_phone(member)
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    # A reset removes every authenticator, passkeys too: the member enrols again from nothing.
    passkeys_removed = Passkey.objects.filter(user=user).delete()[0]
    user.passkey_only = False
    user.set_unusable_password()
    user.session_epoch += 1
    user.save(update_fields=["password", "session_epoch", "passkey_only"])
    sent = staff_enrolment_issue(member=member, purpose=EnrolmentPurpose.RESET, issued_by=issued_by)
    audit_record(
        actor=actor,
        action="backoffice.staff.reset",
        obj=member,
        bank_id=member.bank_id,
        after={
            "reason": reason,
            "devices_removed": removed,
            "passkeys_removed": passkeys_removed,
            "link_sent_to": sent.sent_to,
            "link_expires": sent.expires_at.isoformat(),
        },
    )
    return sent


@transaction.atomic
def staff_account_disable(*, actor: Actor, member: StaffMember, reason: str) -> StaffMember:
    """Disable the account: no sign-in, no enrolment link, every session ends at once (and stays ended)."""
    reason = _require_reason(reason)
    user = User.objects.select_for_update().get(pk=member.user_id)
    if not user.is_active:
        raise DomainError(_("The account is already disabled."), code="already_disabled")
    user.is_active = False
    user.session_epoch += 1
    # The passkeys go with the account's sign-in (whoever holds one must not sign in again when it is enabled).
    passkeys_removed = Passkey.objects.filter(user=user).delete()[0]
    user.passkey_only = False
    user.save(update_fields=["is_active", "session_epoch", "passkey_only"])
    audit_record(
        actor=actor,
        action="backoffice.staff.disabled",
        obj=member,
        bank_id=member.bank_id,
        after={"reason": reason, "passkeys_removed": passkeys_removed},
    )
    return member


@transaction.atomic
def staff_account_enable(*, actor: Actor, member: StaffMember, reason: str) -> StaffMember:
    """Enable a disabled account again; the sessions it had stay ended (the session epoch moved on)."""
    reason = _require_reason(reason)
    user = User.objects.select_for_update().get(pk=member.user_id)
    if user.is_active:
        raise DomainError(_("The account is not disabled."), code="not_disabled")
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor, action="backoffice.staff.enabled", obj=member, bank_id=member.bank_id, after={"reason": reason}
    )
    return member


STAFF_OPERATIONS = ("reset", "disable", "enable")


def staff_account_operate(*, staff: User, member: StaffMember, operation: str, reason: str) -> EnrolmentSent | None:
    """A supervisor's reset, disable or enable of ``member`` (checked again here: permission, scope, not self).

    A refusal is audited as ``backoffice.action_refused`` in a transaction of its own.
    """
    _require_manageable(staff, member)
    actor = Actor.for_user(staff)
    try:
        if operation == "reset":
            return staff_account_reset(actor=actor, member=member, reason=reason, issued_by=staff)
        if operation == "disable":
            staff_account_disable(actor=actor, member=member, reason=reason)
        elif operation == "enable":
            staff_account_enable(actor=actor, member=member, reason=reason)
        else:
            raise Http404
    except DomainError as exc:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="backoffice.action_refused",
                obj=member,
                bank_id=member.bank_id,
                after={"action": f"staff_{operation}", "refusal": exc.code},
            )
        raise
    return None


# --- The staff member's own password [ASVS 5.0 6.2.2] ------------------------------------------


def staff_password_change(
    *, user: User, current_password: str, new_password: str, code: str, passkey_confirmed: bool = False
) -> User:
    """Change the signed-in staff member's own password: the current one, a new one and the second factor.

    The second factor is the authenticator's ``code``, or, for a member whose sign-in takes the passkey alone
    ("passkey only", the Level 3 mode), a passkey confirmation made on the account page moments before
    (``passkey_confirmed``): a code that no longer signs them in must not change their password either.
    A wrong current password or code is audited (``backoffice.staff.password_change_refused``) and changes
    nothing; the new password follows the staff policy. The new password changes the session auth hash, so
    every other session of the member ends at its next request (the view keeps its own).
    """
    member = StaffMember.objects.get(user_id=user.pk)
    try:
        validate_staff_password(new_password, username=user.get_username(), full_name=member.full_name)
    except ValidationError as exc:
        raise ValidationFailed({"new_password": " ".join(exc.messages)}) from None
    if not password_matches(User.objects.get(pk=user.pk), current_password):
        _password_change_refused(user, member, step="password")
        raise ValidationFailed({"current_password": _("The current password is not correct.")})
    if not staff_login_code_allowed(user=user):
        if not passkey_confirmed:
            _password_change_refused(user, member, step="passkey")
            # Not a field's fault: shown above the form.
            raise ValidationFailed(
                {
                    "passkey": _(
                        "Confirm it is you with your passkey first (Passkeys, below), then change the password "
                        "within 5 minutes."
                    )
                }
            )
    else:
        code = "".join((code or "").split())
        with transaction.atomic():
            device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk").first()
            verified = (
                device is not None and code.isdigit() and len(code) == device.digits and device.verify_token(code)
            )
        if not verified:
            _password_change_refused(user, member, step="code")
            raise ValidationFailed({"code": _("The code is not correct. Enter the code the app shows now.")})
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.set_password(new_password)
        locked.password_changed_at = timezone.now()
        locked.save(update_fields=["password", "password_changed_at"])
        audit_record(
            actor=Actor.for_user(locked), action="backoffice.staff.password_changed", obj=member, bank_id=member.bank_id
        )
    return locked


@transaction.atomic
def _password_change_refused(user: User, member: StaffMember, *, step: str) -> None:
    audit_record(
        actor=Actor.for_user(user),
        action="backoffice.staff.password_change_refused",
        obj=member,
        bank_id=member.bank_id,
        after={"step": step},
    )
