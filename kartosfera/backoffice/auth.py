"""Staff sign-in: a password, then a passkey or a TOTP code (django-otp), with a lockout.

[law: PCI DSS 8.4.2 (MFA for all access to the cardholder data environment),
8.3.4 (lock after at most 10 wrong attempts, for at least 30 minutes)]. Wrong
passwords, wrong codes and refused passkeys count together; a right second step
after a right password resets the count. A member with a passkey confirms with
it [ASVS 5.0 6.3.3 at Level 3]; the code stays possible only while
``other_second_step_allowed`` says so (not with "passkey only" or in the Level 3
mode, BACKOFFICE_PASSKEY_REQUIRED). The lock is lifted by time (or by a system actor); staff
cannot unlock themselves. See docs/backoffice.md.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from kartosfera.backoffice.models import StaffMember
from kartosfera.backoffice.passwords import validate_staff_password
from kartosfera.backoffice.roles import StaffRole
from kartosfera.banks.models import Bank
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.customers.identity import normalize_phone
from kartosfera.users.backends import password_matches
from kartosfera.users.models import Passkey, User, UserKind
from kartosfera.users.passkeys import (
    PasskeyRefused,
    RelyingParty,
    other_second_step_allowed,
    passkey_verify,
    user_has_passkey,
)


class StaffLoginRefused(DomainError):
    """The one answer of the password step, whatever went wrong.

    A wrong user name, a wrong password and a locked account (even with the
    right password) all get this same text, so that nothing tells whether a
    staff user name exists or is locked [ASVS 5.0 6.3.8]. The text explains the
    lockout rule, so that a locked staff member still knows what happened.
    """

    code = "staff_login_refused"

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message or _generic_message(), code=code)


def _generic_message() -> str:
    return _(
        "The user name, password or code is incorrect. After %(attempts)d wrong attempts in a row an account "
        "is locked for %(minutes)d minutes; if it is urgent, ask your supervisor."
    ) % {"attempts": _lockout_attempts(), "minutes": int(settings.STAFF_LOCKOUT_MINUTES)}


class StaffLocked(StaffLoginRefused):
    """The code step's answer once the account is locked: only after the right password, so it reveals nothing."""

    code = "staff_locked"

    def __init__(self, until: dt.datetime) -> None:
        self.until = until
        super().__init__(
            _("Too many wrong attempts: the account is locked until %(until)s. Ask your supervisor if it is urgent.")
            % {"until": date_format(timezone.localtime(until), "TIME_FORMAT")}
        )


def _lockout_attempts() -> int:
    return int(settings.STAFF_LOCKOUT_ATTEMPTS)


def _lockout_duration() -> dt.timedelta:
    return dt.timedelta(minutes=int(settings.STAFF_LOCKOUT_MINUTES))


def staff_user_find(*, username: str) -> User | None:
    value = (username or "").strip()
    if not value:
        return None
    return (
        User.objects.select_related("staff_member")
        .filter(kind=UserKind.STAFF, username__iexact=value, staff_member__isnull=False)
        .first()
    )


@transaction.atomic
def _failure_record(*, user_id: int, step: str) -> StaffLoginRefused:
    """Count a wrong password or code under the row lock; lock at the limit."""
    now = timezone.now()
    user = User.objects.select_for_update().get(pk=user_id)
    if user.is_locked(now):
        return _refuse_locked(user)
    if user.locked_until is not None:
        # An old lock has run out: the count starts again.
        user.locked_until = None
        user.failed_login_count = 0
    user.failed_login_count += 1
    fields = ["failed_login_count", "locked_until"]
    audit_record(
        actor=Actor.for_user(user),
        action="backoffice.staff.sign_in_failed",
        obj=user,
        bank_id=_staff_bank_id(user),
        after={"step": step, "failed_in_a_row": user.failed_login_count},
    )
    error: StaffLoginRefused = StaffLoginRefused()
    if user.failed_login_count >= _lockout_attempts():
        user.locked_until = now + _lockout_duration()
        audit_record(
            actor=Actor.system("staff lockout"),
            action="backoffice.staff.locked",
            obj=user,
            bank_id=_staff_bank_id(user),
            after={"until": user.locked_until.isoformat(), "failed_in_a_row": user.failed_login_count},
        )
        error = StaffLocked(user.locked_until)
    user.save(update_fields=fields)
    return error


def _staff_bank_id(user: User) -> int | None:
    """The bank of the staff member (None: the group's), so that their sign-ins are in their bank's activity log."""
    return StaffMember.objects.filter(user_id=user.pk).values_list("bank_id", flat=True).first()


@transaction.atomic
def _refuse_locked(user: User) -> StaffLocked:
    audit_record(
        actor=Actor.for_user(user),
        action="backoffice.staff.sign_in_refused",
        obj=user,
        bank_id=_staff_bank_id(user),
        after={"reason": "locked"},
    )
    return StaffLocked(user.locked_until)  # type: ignore[arg-type]


def staff_login_password(*, username: str, password: str) -> User:
    """The first step: the staff member whose password this is, or StaffLoginRefused.

    Every refusal here is the same generic StaffLoginRefused, and every one
    spends the same Argon2 time: an unknown name, a wrong password, the attempt
    that locks the account and a locked account (whose password is not even
    checked) look alike from outside. The lock and its audit rows stay as they were.
    """
    user = staff_user_find(username=username)
    if user is None or not user.is_active:
        password_matches(None, password)  # the same time as a real check
        with transaction.atomic():
            audit_record(
                actor=Actor.anonymous(), action="backoffice.staff.sign_in_failed", after={"step": "unknown_user"}
            )
        raise StaffLoginRefused()
    if user.is_locked():
        # Locked: the password is not checked, so guessing on goes nowhere; the dummy
        # check only keeps the time the same as for any other answer.
        password_matches(None, password)
        _refuse_locked(user)
        raise StaffLoginRefused()
    if not password_matches(user, password):
        _failure_record(user_id=user.pk, step="password")
        raise StaffLoginRefused()
    return user


def staff_login_code_allowed(*, user: User) -> bool:
    """May ``user`` finish signing in with the authenticator app's code (not once only a passkey may)?"""
    return other_second_step_allowed(user=user, has_passkey=user_has_passkey(user=user))


def staff_login_code(*, user: User, code: str) -> TOTPDevice:
    """The second step: the TOTP device that accepted ``code`` (each code works once).

    Refused without looking at the code when the member must use their passkey (``staff_login_code_allowed``):
    audited as a refusal, not counted, since nothing was guessed.
    """
    user = User.objects.get(pk=user.pk)
    if user.is_locked():
        raise _refuse_locked(user)
    if not staff_login_code_allowed(user=user):
        with transaction.atomic():
            audit_record(
                actor=Actor.for_user(user),
                action="backoffice.staff.sign_in_refused",
                obj=user,
                bank_id=_staff_bank_id(user),
                after={"reason": "passkey_required"},
            )
        raise StaffLoginRefused(_("Confirm with your passkey: the code is not accepted for this account."))
    code = "".join((code or "").split())
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    verified = False
    if device is not None and code.isdigit() and len(code) == device.digits:
        with transaction.atomic():
            # django-otp refuses a code of a time step already used (no replay).
            device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            verified = device.verify_token(code)
    if not verified or device is None:
        raise _failure_record(user_id=user.pk, step="code")
    _signed_in_record(user=user, after=None)
    return device


def staff_login_passkey(*, user: User, rp: RelyingParty, challenge: bytes, response: str) -> Passkey:
    """The second step with a passkey: the member's passkey that signed ``challenge`` [ASVS 5.0 6.3.3].

    A refused passkey counts towards the lock exactly as a wrong code does (``_failure_record``, step
    "passkey"), after ``passkey_verify`` has audited its reason; a right one resets the count.
    """
    user = User.objects.get(pk=user.pk)
    if user.is_locked():
        raise _refuse_locked(user)
    try:
        passkey = passkey_verify(user=user, rp=rp, challenge=challenge, response=response)
    except PasskeyRefused:
        raise _failure_record(user_id=user.pk, step="passkey") from None
    _signed_in_record(user=user, after={"second_step": "passkey"})
    return passkey


@transaction.atomic
def _signed_in_record(*, user: User, after: dict[str, str] | None) -> None:
    """Both factors are right: the count starts again and the sign-in is audited."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.failed_login_count = 0
    locked.locked_until = None
    locked.last_login = timezone.now()
    locked.save(update_fields=["failed_login_count", "locked_until", "last_login"])
    audit_record(
        actor=Actor.for_user(locked),
        action="backoffice.staff.signed_in",
        obj=locked,
        bank_id=_staff_bank_id(locked),
        after=after,
    )


@transaction.atomic
def staff_logout_record(*, user: User) -> None:
    audit_record(
        actor=Actor.for_user(user), action="backoffice.staff.signed_out", obj=user, bank_id=_staff_bank_id(user)
    )


def staff_member_validate_new(
    *, username: str, full_name: str, role: str, password: str | None, bank: Bank | None
) -> tuple[str, str]:
    """The stripped user name and full name of a new staff account, or ValidationFailed with every reason.

    ``password`` None: the account gets no password here (its member sets one through an enrolment link).
    """
    username = (username or "").strip()
    full_name = (full_name or "").strip()
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = _("This field is required.")
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = _("This user name is taken.")
    if not full_name:
        errors["full_name"] = _("This field is required.")
    if role not in StaffRole.values:
        errors["role"] = _("Choose one of the roles.")
    elif role == StaffRole.AGENT and bank is not None:
        errors["bank"] = _("The contact centre's agents are the group's staff, not a bank's.")
    elif role == StaffRole.BRANCH and bank is None:
        errors["bank"] = _("A branch employee works for one bank: choose it.")
    if password is not None:
        try:
            validate_staff_password(password, username=username, full_name=full_name)
        except ValidationError as exc:
            errors["password"] = " ".join(exc.messages)
    if errors:
        raise ValidationFailed(errors)
    return username, full_name


@transaction.atomic
def staff_member_create(
    *,
    actor: Actor,
    username: str,
    full_name: str,
    role: str,
    password: str,
    unit: str = "",
    bank: Bank | None = None,
    work_phone: str | None = None,
) -> tuple[StaffMember, TOTPDevice]:
    """A staff account with its role, a password and a TOTP device (the demo's and the tests' staff).

    A real employee's account is made by ``accounts.staff_member_invite`` (``create_staff_user``): nobody but
    the employee chooses their password. ``bank`` None: the group's staff (the contact centre and the group's
    supervisors and auditors); otherwise the bank whose customers alone the staff member sees. ``work_phone``:
    where a reset's enrolment link goes (none: a reset is refused until an administrator sets one).
    """
    username, full_name = staff_member_validate_new(
        username=username, full_name=full_name, role=role, password=password, bank=bank
    )
    user = User.objects.create_user(username=username, password=password, kind=UserKind.STAFF)
    member = StaffMember.objects.create(
        user=user,
        full_name=full_name,
        role=role,
        unit=unit.strip(),
        bank=bank,
        work_phone=normalize_phone(work_phone) if work_phone else None,
    )
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    audit_record(
        actor=actor,
        action="backoffice.staff.created",
        obj=member,
        after={"username": username, "role": role, "unit": member.unit, "bank": bank.code if bank else None},
    )
    return member, device
