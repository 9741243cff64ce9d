"""Signing cardholders in (password, then an SMS code), the lockout, and portal access blocks.

PSD2 strong customer authentication [law: RTS art. 4]: a cardholder is signed
in only after two factors, the password (knowledge) and a one-time code sent to
the portal phone (possession). Failed authentication attempts (a wrong password,
or a code challenge that ended after 3 wrong codes) count in a row; 3 lock
access until the next day in Warsaw [bank]. Nothing here ever tells a caller
whether an identifier exists: every failure before the password is proven is
the same InvalidCredentials.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.banks.selectors import bank_only_one_for_customer
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError
from kartosfera.core.helpline import Helpline, helpline
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.models import Customer
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.texts import sms_bank_name
from kartosfera.sca.models import ChallengePurpose, ChallengeState, SmsChallenge
from kartosfera.sca.services import (
    ChallengeError,
    challenge_cancel,
    challenge_issue,
    challenge_resend,
    challenge_verify,
    login_phone,
)
from kartosfera.sca.sms_texts import LOGIN_DESCRIPTION
from kartosfera.users.backends import password_matches
from kartosfera.users.lockout import BANK_TIMEZONE, MAX_FAILED_LOGINS, lock_end
from kartosfera.users.models import User
from kartosfera.users.passkeys import (
    PasskeyRefused,
    RelyingParty,
    other_second_step_allowed,
    passkey_verify,
    user_has_passkey,
)
from kartosfera.users.selectors import cardholder_find_by_identifier, login_failures_since
from kartosfera.users.sms_texts import SMS_ACCESS_LOCKED

LOGIN_OPERATION = "users.login"


class LoginFailure:
    """Why a sign-in failed, for the audit trail only: the user is never told which."""

    UNKNOWN_IDENTIFIER = "unknown_identifier"
    BAD_CREDENTIALS = "bad_credentials"
    INACTIVE = "inactive"
    CODE_ATTEMPTS_EXCEEDED = "code_attempts_exceeded"
    CODE_ABANDONED = "code_abandoned"
    PASSKEY_REFUSED = "passkey_refused"


class AccessBlockedBy(models.TextChoices):
    CUSTOMER = "customer", gettext_lazy("the cardholder")
    STAFF = "staff", gettext_lazy("the bank")


# --- Errors: each carries the message the user sees --------------------------------


class LoginRefused(DomainError):
    code = "login_refused"


class InvalidCredentials(LoginRefused):
    # One message for every failure, so that nobody can learn whether an account exists.
    default_message = gettext_lazy("The identifier or password is incorrect.")
    code = "invalid_credentials"


class AccessLocked(LoginRefused):
    code = "access_locked"

    def __init__(self, until: dt.datetime, *, helpline_phone: str) -> None:
        self.until = until
        super().__init__(
            _(
                "Access to the portal is locked until %(until)s after three wrong passwords. "
                "It unlocks by itself then. To unlock it today, call the helpline %(phone)s or visit a branch."
            )
            % {"until": _format_local(until, "DATETIME_FORMAT"), "phone": helpline_phone}
        )


class AccessBlocked(LoginRefused):
    default_message = gettext_lazy(
        "Your access to the portal is blocked. To unblock it, call your bank's helpline or visit a branch."
    )
    code = "access_blocked"


class NoPortalPhone(LoginRefused):
    default_message = gettext_lazy(
        "We have no phone number to send you the sign-in code to. Please visit a branch of your bank."
    )
    code = "no_portal_phone"


class StaffOnly(DomainError):
    default_message = gettext_lazy("Only bank staff can do this.")
    code = "staff_only"


def _format_local(moment: dt.datetime, fmt: str) -> str:
    return formats.date_format(moment.astimezone(BANK_TIMEZONE), fmt)


def holder_phone(customer: Customer) -> str | None:
    """Where a cardholder's texts go outside a page (a 3-D Secure code, a notice of the card core, a statement):
    the portal phone, else the phone on file the bank provisioned (a holder without a portal account)."""
    user = getattr(customer, "portal_user", None)
    return (login_phone(user) if user is not None else None) or customer.phone_on_file or None


# --- Step 1: the password ----------------------------------------------------------


@transaction.atomic
def _record_unknown_identifier() -> None:
    # Neither the identifier nor the password is recorded: people type their
    # password into the identifier field often enough to leak it into the log.
    audit_record(
        actor=Actor.anonymous(), action="users.login.failed", after={"reason": LoginFailure.UNKNOWN_IDENTIFIER}
    )


def _lock(user: User, *, now: dt.datetime) -> None:
    """Lock ``user`` (a row this transaction holds) until the next day, audit it and tell the owner."""
    user.locked_until = lock_end(now)
    audit_record(
        actor=Actor.system("lockout"),
        action="users.access.locked",
        obj=user,
        customer_id=user.customer_id,
        after={"until": user.locked_until.isoformat(), "failed_in_a_row": user.failed_login_count},
    )
    phone = login_phone(user)
    if phone:
        # The portal is the group's: one bank speaks only when the person is the customer of that bank alone.
        bank = bank_only_one_for_customer(customer_id=user.customer_id) if user.customer_id else None
        sms_send(
            to=phone,
            message=SMS_ACCESS_LOCKED.render(
                bank=sms_bank_name(bank), until=user.locked_until, helpline=helpline(bank).service.display
            ),
            purpose="users.locked",
            bank=bank,
        )


def _helpline_of(user: User) -> Helpline:
    """The helpline of the person's bank when they are the customer of one bank only; else the group's."""
    bank = bank_only_one_for_customer(customer_id=user.customer_id) if user.customer_id else None
    return helpline(bank)


def _count_failure(user: User, *, now: dt.datetime, reason: str) -> None:
    """One more failed authentication in a row on a locked row; the third locks access."""
    user.failed_login_count += 1
    audit_record(
        actor=Actor.anonymous(),
        action="users.login.failed",
        obj=user,
        customer_id=user.customer_id,
        after={"reason": reason, "failed_in_a_row": user.failed_login_count},
    )
    if user.failed_login_count >= MAX_FAILED_LOGINS:
        _lock(user, now=now)
    user.save(update_fields=["failed_login_count", "locked_until"])


def _refuse(user: User, error: LoginRefused, *, reason: str) -> LoginRefused:
    audit_record(
        actor=Actor.anonymous(),
        action="users.login.refused",
        obj=user,
        customer_id=user.customer_id,
        after={"reason": reason},
    )
    return error


def _lift_expired_lock(user: User, *, now: dt.datetime) -> None:
    # The lock ended at midnight: the new day starts with a clean slate, so one
    # more wrong password does not lock again at once.
    if user.locked_until is not None and user.locked_until <= now:
        user.locked_until = None
        user.failed_login_count = 0
        user.save(update_fields=["failed_login_count", "locked_until"])


@transaction.atomic
def _password_attempt_record(*, user_id: int, matches: bool) -> LoginRefused | None:
    """Count one password attempt on the locked user row; return the refusal, if any.

    The row lock serializes concurrent attempts, so that three wrong passwords
    sent at the same moment all count (a read-modify-write without it loses
    updates and lets an attacker guess past the limit).
    """
    user = User.objects.select_for_update().get(pk=user_id)
    now = timezone.now()
    _lift_expired_lock(user, now=now)
    if user.is_locked(now):
        # While locked, right and wrong passwords get the same generic answer:
        # a different message for the right one would let an attacker go on
        # guessing for the rest of the day and learn when a guess was right.
        # The owner learnt of the lock by SMS. The lock is not extended.
        audit_record(
            actor=Actor.anonymous(),
            action="users.login.failed",
            obj=user,
            customer_id=user.customer_id,
            after={"reason": LoginFailure.BAD_CREDENTIALS if not matches else "locked", "while_locked": True},
        )
        return InvalidCredentials()
    if not matches:
        _count_failure(user, now=now, reason=LoginFailure.BAD_CREDENTIALS)
        return InvalidCredentials()
    # The password is right: only now may the answer say more than "incorrect".
    if not user.is_active:
        audit_record(
            actor=Actor.anonymous(),
            action="users.login.failed",
            obj=user,
            customer_id=user.customer_id,
            after={"reason": LoginFailure.INACTIVE},
        )
        return InvalidCredentials()
    if user.is_access_blocked:
        return _refuse(user, AccessBlocked(), reason="blocked")
    if not login_phone(user):
        return _refuse(user, NoPortalPhone(), reason="no_phone")
    return None


def user_login_password(*, identifier: str, password: str) -> User:
    """Step 1 of signing in: check the identifier and password; raise LoginRefused otherwise.

    A correct password does not reset the count of failures: only a completed
    sign-in (with the SMS code) does, or somebody who knows the password could
    guess codes without end.
    """
    user = cardholder_find_by_identifier(identifier=identifier)
    # Hashed outside any row lock (Argon2id takes a while), and for an unknown
    # identifier too, so that both paths take the same time.
    matches = password_matches(user, password)
    if user is None:
        _record_unknown_identifier()
        raise InvalidCredentials()
    error = _password_attempt_record(user_id=user.pk, matches=matches)
    if error is not None:
        raise error
    return user


# --- Step 2: the SMS code ----------------------------------------------------------


@transaction.atomic
def _login_challenges_close(*, user_id: int, only: SmsChallenge | None = None) -> bool:
    """End sign-ins still waiting for a code; one with wrong codes counts as a failed attempt.

    Without this, somebody who knows the password could try two codes, cancel or
    sign in again for a fresh code, and so guess codes for ever without reaching
    the lock. Returns whether the user is locked now.
    """
    user = User.objects.select_for_update().get(pk=user_id)
    now = timezone.now()
    _lift_expired_lock(user, now=now)
    pending = SmsChallenge.objects.select_for_update().filter(
        user=user, purpose=ChallengePurpose.LOGIN, state=ChallengeState.PENDING
    )
    if only is not None:
        pending = pending.filter(pk=only.pk)
    closing = list(pending)
    for challenge in closing:
        challenge_cancel(actor=Actor.anonymous(), challenge=challenge)
    if any(challenge.attempts > 0 for challenge in closing) and not user.is_locked(now):
        _count_failure(user, now=now, reason=LoginFailure.CODE_ABANDONED)
    return user.is_locked(now)


def user_login_code_issue(*, user: User) -> SmsChallenge:
    """Send the 6-digit sign-in code (valid 5 minutes, 3 tries) to the user's portal phone."""
    phone = login_phone(user)
    if user.customer is None or not phone:
        raise NoPortalPhone()
    if _login_challenges_close(user_id=user.pk):
        raise InvalidCredentials()
    return challenge_issue(
        actor=Actor.anonymous(),
        purpose=ChallengePurpose.LOGIN,
        customer=user.customer,
        user=user,
        phone=phone,
        operation=LOGIN_OPERATION,
        description=str(LOGIN_DESCRIPTION),
    )


def user_login_code_resend(*, challenge: SmsChallenge) -> SmsChallenge:
    """Send a new sign-in code for the same challenge; the tries used so far stay used."""
    if challenge.user_id is not None:
        _refuse_codes_of_passkey_only(User.objects.get(pk=challenge.user_id), challenge)
    return challenge_resend(actor=Actor.anonymous(), challenge=challenge)


def _refuse_codes_of_passkey_only(user: User, challenge: SmsChallenge) -> None:
    """A code sent before the user chose "passkey only" (or before the Level 3 mode) neither signs in nor is sent
    again: the sign-in starts over, with the passkey. Nothing is counted."""
    if not other_second_step_allowed(user=user, has_passkey=user_has_passkey(user=user)):
        challenge_cancel(actor=Actor.anonymous(), challenge=challenge)
        raise ChallengeError(
            _("Your account now signs in with a passkey only. Please sign in again."), code="challenge_closed"
        )


def user_login_code_cancel(*, challenge: SmsChallenge) -> None:
    """End a sign-in waiting for its code (the user cancelled, or asked for a new sign-in)."""
    if challenge.user_id is None:
        challenge_cancel(actor=Actor.anonymous(), challenge=challenge)
        return
    _login_challenges_close(user_id=challenge.user_id, only=challenge)


@transaction.atomic
def _code_failed_record(*, challenge: SmsChallenge, attempts_left: int) -> None:
    audit_record(
        actor=Actor.anonymous(),
        action="users.login.code_failed",
        obj=challenge.user,
        customer_id=challenge.customer_id,
        after={"attempts_left": attempts_left},
    )


@transaction.atomic
def _code_attempts_exceeded_record(*, user_id: int) -> None:
    # Three wrong codes are one failed authentication attempt (PSD2 RTS art. 4(3)(d)):
    # it counts towards the lock like a wrong password.
    user = User.objects.select_for_update().get(pk=user_id)
    now = timezone.now()
    _lift_expired_lock(user, now=now)
    if not user.is_locked(now):
        _count_failure(user, now=now, reason=LoginFailure.CODE_ATTEMPTS_EXCEEDED)


@dataclass(frozen=True)
class LoginCompleted:
    """A finished sign-in, with what the welcome panel shows about the previous one."""

    user: User
    previous_login: dt.datetime | None
    failures_since_previous: int


@transaction.atomic
def _login_complete(*, user_id: int, method: str) -> LoginCompleted:
    """Both factors are proven: check the account may still sign in, reset the counter, audit."""
    user = User.objects.select_for_update().get(pk=user_id)
    now = timezone.now()
    _lift_expired_lock(user, now=now)
    # The account may have been blocked or locked between the two steps.
    if not user.is_active:
        raise InvalidCredentials()
    if user.is_access_blocked:
        raise AccessBlocked()
    if lock := user_lock_refusal(user=user, now=now):
        raise lock
    failures = login_failures_since(user=user, since=user.last_login)
    if user.failed_login_count:
        user.failed_login_count = 0
        user.save(update_fields=["failed_login_count"])
    audit_record(
        actor=Actor.for_user(user),
        action="users.login.succeeded",
        obj=user,
        customer_id=user.customer_id,
        after={"method": method},
    )
    return LoginCompleted(user=user, previous_login=user.last_login, failures_since_previous=failures)


def user_login_code_verify(*, challenge: SmsChallenge, code: str) -> LoginCompleted:
    """Step 2 of signing in: check the SMS code; on success the sign-in is complete.

    Raises ChallengeError for a wrong, expired or used code (``too_many_attempts``
    means the challenge has ended and the user must start again), or
    LoginRefused when the account was blocked or locked in the meantime. Runs
    outside any transaction of the caller: a wrong code must stay counted.
    """
    if challenge.user_id is None or challenge.purpose != ChallengePurpose.LOGIN:
        raise ValueError("not a sign-in challenge")
    _refuse_codes_of_passkey_only(User.objects.get(pk=challenge.user_id), challenge)
    try:
        challenge_verify(actor=Actor.anonymous(), challenge=challenge, code=code)
    except ChallengeError as exc:
        if exc.code == "code_invalid":
            _code_failed_record(challenge=challenge, attempts_left=exc.attempts_left)
        elif exc.code == "too_many_attempts":
            _code_failed_record(challenge=challenge, attempts_left=0)
            _code_attempts_exceeded_record(user_id=challenge.user_id)
        raise
    return _login_complete(user_id=challenge.user_id, method="password_sms")


@transaction.atomic
def _passkey_failed_record(*, user_id: int) -> None:
    # A passkey answer that does not verify is a failed authentication like a wrong code: it counts towards the
    # lock, so that a stolen password cannot be paired with endless forged answers.
    user = User.objects.select_for_update().get(pk=user_id)
    now = timezone.now()
    _lift_expired_lock(user, now=now)
    if not user.is_locked(now):
        _count_failure(user, now=now, reason=LoginFailure.PASSKEY_REFUSED)


def user_login_passkey_verify(*, user: User, rp: RelyingParty, challenge: bytes, response: str) -> LoginCompleted:
    """Step 2 of signing in with a passkey instead of the SMS code [ASVS 5.0 6.3.3 at Level 3].

    The passkey must be one of this user's (the password step named the user) and user-verified. Raises
    PasskeyRefused (counted towards the lock) or LoginRefused when the account was blocked or locked meanwhile.
    """
    try:
        passkey_verify(user=user, rp=rp, challenge=challenge, response=response)
    except PasskeyRefused:
        _passkey_failed_record(user_id=user.pk)
        raise
    return _login_complete(user_id=user.pk, method="password_passkey")


def user_lock_refusal(*, user: User, now: dt.datetime | None = None) -> AccessLocked | None:
    """The refusal a locked user gets (until when, whom to call), or None when access is not locked."""
    now = now or timezone.now()
    if user.locked_until is not None and user.is_locked(now):
        return AccessLocked(user.locked_until, helpline_phone=_helpline_of(user).service.display)
    return None


def user_login_after_registration(*, user: User) -> LoginCompleted:
    """Sign the user in right after registration (activation password by SMS + the new password)."""
    return _login_complete(user_id=user.pk, method="registration")


@transaction.atomic
def user_logout_record(*, user: User) -> AuditEvent:
    """Audit that a user signed out (the session itself is ended by the caller)."""
    return audit_record(actor=Actor.for_user(user), action="users.logout", obj=user, customer_id=user.customer_id)


# --- Lock and block management (back office, settings) --------------------------------


def _require_staff(actor: Actor) -> None:
    if actor.type not in {ActorType.STAFF, ActorType.SYSTEM}:
        raise StaffOnly()


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason."), code="reason_required")
    return reason[:200]


@transaction.atomic
def user_unlock(*, actor: Actor, user: User, reason: str) -> User:
    """Lift a lock after wrong passwords the same day (bank staff, after verifying the caller)."""
    _require_staff(actor)
    reason = _require_reason(reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    before = {
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
        "failed_in_a_row": user.failed_login_count,
    }
    user.locked_until = None
    user.failed_login_count = 0
    user.save(update_fields=["locked_until", "failed_login_count"])
    audit_record(
        actor=actor,
        action="users.access.unlocked",
        obj=user,
        customer_id=user.customer_id,
        before=before,
        after={"reason": reason},
    )
    return user


@transaction.atomic
def user_access_block(*, actor: Actor, user: User, by: str, reason: str = "") -> User:
    """Block portal access at once (by the cardholder or by staff); only staff can lift it.

    Every session of the user ends at its next request (the authentication
    backend refuses blocked users). Blocking a blocked account changes nothing.
    """
    by = AccessBlockedBy(by)
    if by == AccessBlockedBy.STAFF:
        _require_staff(actor)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_access_blocked:
        return user
    user.access_blocked_at = timezone.now()
    user.access_blocked_by = by
    user.save(update_fields=["access_blocked_at", "access_blocked_by"])
    after = {"by": str(by)}
    if reason.strip():
        after["reason"] = reason.strip()[:200]
    audit_record(actor=actor, action="users.access.blocked", obj=user, customer_id=user.customer_id, after=after)
    return user


@transaction.atomic
def user_access_unblock(*, actor: Actor, user: User, reason: str) -> User:
    """Lift a portal access block (bank staff only, after verifying the caller)."""
    _require_staff(actor)
    reason = _require_reason(reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_access_blocked:
        return user
    before = {"blocked_by": user.access_blocked_by, "blocked_at": user.access_blocked_at.isoformat()}  # type: ignore[union-attr]
    user.access_blocked_at = None
    user.access_blocked_by = ""
    user.save(update_fields=["access_blocked_at", "access_blocked_by"])
    audit_record(
        actor=actor,
        action="users.access.unblocked",
        obj=user,
        customer_id=user.customer_id,
        before=before,
        after={"reason": reason},
    )
    return user


# --- Ending sessions (an administrator's "sign out everywhere") ---------------------------


@transaction.atomic
def user_sessions_end(*, actor: Actor, user: User, reason: str) -> User:
    """End every session of ``user`` at its next request, leaving access open [ASVS 5.0 7.4.5].

    The session epoch is part of the session auth hash (``User._get_session_auth_hash``): raising it makes
    every stored session's hash stale, so Django flushes each one at its next request. The user can sign in
    again at once (nothing is blocked). Bank staff or the system only (the back office, ``end_sessions``).
    """
    _require_staff(actor)
    reason = _require_reason(reason)
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.session_epoch += 1
    locked.save(update_fields=["session_epoch"])
    audit_record(
        actor=actor, action="users.sessions.ended", obj=locked, customer_id=locked.customer_id, after={"reason": reason}
    )
    return locked


@transaction.atomic
def users_sessions_end_all(*, actor: Actor, kind: str, reason: str) -> int:
    """End every session of every user of ``kind`` (cardholders or staff); returns how many users [ASVS 5.0 7.4.5].

    One UPDATE raises every such user's session epoch; one audit row records it (the system only:
    ``manage.py end_sessions``).
    """
    if actor.type != ActorType.SYSTEM:
        raise StaffOnly()
    reason = _require_reason(reason)
    count = User.objects.filter(kind=kind).update(session_epoch=models.F("session_epoch") + 1)
    audit_record(actor=actor, action="users.sessions.ended_all", after={"kind": kind, "users": count, "reason": reason})
    return count
