"""Registration in the portal, which is also how a forgotten password is set anew.

PRODUCT.md "Registration" [bank]: PESEL or the bank-assigned ID → an activation
password by SMS to the phone on file, valid 10 minutes [ASVS 5.0 6.5.5],
single use → the user types it → sets their own password → signed in.
Registering again [ours] sets a new password, which ends every other session
(Django's session auth hash changes with the password). It lifts neither a
lock after wrong passwords (it ends at midnight, or staff unlock it the same
day [bank]) nor a block of portal access (only staff lift that).

Nobody learns from it who is a customer [ASVS 5.0 6.3.8]: every well-formed
identifier gets the same pages, statuses and comparable timing. Step 1 checks
the format only; "send" issues a real challenge only for a customer with a
phone on file, and for anybody else a ``DecoyActivation`` that no code can
satisfy, counted and answered as a challenge is. The reason (no such customer,
no phone) goes to the audit trail only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.crypto import keyed_digest
from kartosfera.core.errors import DomainError
from kartosfera.customers.identity import mask_phone, validate_pesel
from kartosfera.customers.models import Customer
from kartosfera.notifications.services import sms_send
from kartosfera.sca.models import ChallengePurpose, ChallengeState, SmsChallenge
from kartosfera.sca.services import (
    CODE_LIFETIME,
    MAX_SENDS,
    ChallengeError,
    challenge_cancel,
    challenge_code_matches,
    challenge_issue,
    challenge_resend,
    challenge_verify,
    code_expired_error,
    code_wrong_error,
    resend_limit_error,
)
from kartosfera.sca.sms_texts import REGISTRATION_DESCRIPTION
from kartosfera.users.models import User, UserKind
from kartosfera.users.passwords import validate_portal_password
from kartosfera.users.selectors import customer_find_for_registration, customer_get, normalize_identifier
from kartosfera.users.sms_texts import SMS_PASSWORD_SET_BY_REGISTRATION

REGISTRATION_OPERATION = "users.registration"
# After the activation password is accepted, the new password must follow soon:
# a confirmed challenge left in an unattended browser must not set one hours later.
PASSWORD_STEP_WINDOW = dt.timedelta(minutes=30)


class RegistrationRefused(DomainError):
    code = "registration_refused"


class RegistrationExpired(RegistrationRefused):
    default_message = gettext_lazy("The registration has expired or was already completed. Please start again.")
    code = "registration_expired"


class PasswordRejected(RegistrationRefused):
    code = "password_rejected"

    def __init__(self, error: ValidationError) -> None:
        self.error = error
        super().__init__(" ".join(error.messages))


@dataclass(frozen=True)
class RegistrationCompleted:
    user: User
    created: bool
    access_blocked: bool


@transaction.atomic
def _refused_record(*, reason: str, customer: Customer | None = None) -> None:
    # The identifier as typed is never recorded: it may be somebody else's.
    audit_record(
        actor=Actor.anonymous(),
        action="users.registration.refused",
        obj=customer,
        customer_id=customer.pk if customer else None,
        after={"reason": reason},
    )


@dataclass(frozen=True)
class RegistrationIdentified:
    """Step 1's outcome, the same for everybody: a digest of the identifier and whom it names (if anybody)."""

    identifier_digest: str
    customer_id: int | None


def registration_identifier_digest(identifier: str) -> str:
    """The identifier as the session and the rate limits know it: a keyed digest, never the number itself."""
    return keyed_digest("users.registration.identifier", normalize_identifier(identifier).upper())


def registration_identify(*, identifier: str) -> RegistrationIdentified:
    """Step 1: check the identifier's format only (a PESEL's length, birth date and check digit).

    Raises ValidationError for a malformed PESEL: that says something about the number, nothing about
    customers. Whether it names a customer (and whether they have a phone) changes nothing in the
    answer: the look-up runs for every identifier and writes nothing; step 2 decides what is sent.
    """
    value = normalize_identifier(identifier)
    if value.isdigit():
        # Every all-digit identifier is a PESEL (bank-assigned IDs have letters: NR00000021), so this check
        # runs before, and whatever, the look-up.
        validate_pesel(value)
    customer = customer_find_for_registration(identifier=value)
    return RegistrationIdentified(
        identifier_digest=registration_identifier_digest(value), customer_id=customer.pk if customer else None
    )


@dataclass
class DecoyActivation:
    """What step 3 waits for when no activation password went out: no such customer, or no phone on file.

    It lives in the (server-side) session, never in the database, so that scanning identifiers grows no
    table. It expires, counts tries and sends and answers exactly as a registration ``SmsChallenge`` does
    (the same ``ChallengeError``s), but no code ever satisfies it.
    """

    expires_at: dt.datetime
    attempts: int = 0
    sends: int = 1
    max_attempts: int = SmsChallenge._meta.get_field("max_attempts").get_default()

    @classmethod
    def issue(cls, now: dt.datetime | None = None) -> DecoyActivation:
        return cls(expires_at=(now or timezone.now()) + CODE_LIFETIME[ChallengePurpose.REGISTRATION])

    @classmethod
    def from_session(cls, data: object) -> DecoyActivation | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                expires_at=dt.datetime.fromisoformat(data["expires_at"]),
                attempts=int(data["attempts"]),
                sends=int(data["sends"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def as_session(self) -> dict[str, Any]:
        return {"expires_at": self.expires_at.isoformat(), "attempts": self.attempts, "sends": self.sends}

    @property
    def attempts_left(self) -> int:
        return self.max_attempts - self.attempts

    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at


# What step 3 waits for: the activation password sent, or the decoy.
PendingActivation = SmsChallenge | DecoyActivation


def registration_start(*, customer_id: int | None, previous_challenge: SmsChallenge | None = None) -> PendingActivation:
    """Step 2: send the activation password (valid 10 minutes, single use) to the phone on file.

    Only a customer with a phone on file gets one; for an identifier that names nobody, or a customer
    without a phone, the refusal is recorded (the audit trail is not the visitor's) and a decoy is returned.
    """
    with transaction.atomic():
        customer = customer_get(customer_id=customer_id) if customer_id else None
        if customer is None or not customer.phone_on_file:
            _refused_record(reason="no_phone" if customer else "not_found", customer=customer)
            return DecoyActivation.issue()
        return _challenge_start(customer, previous_challenge)


def _challenge_start(customer: Customer, previous_challenge: SmsChallenge | None) -> SmsChallenge:
    assert customer.phone_on_file
    if previous_challenge is not None:
        # Starting again: the activation password sent before stops working.
        challenge_cancel(actor=Actor.anonymous(), challenge=previous_challenge)
    user = User.objects.filter(customer=customer).first()
    challenge = challenge_issue(
        actor=Actor.anonymous(),
        purpose=ChallengePurpose.REGISTRATION,
        customer=customer,
        user=user,
        phone=customer.phone_on_file,
        operation=REGISTRATION_OPERATION,
        description=str(REGISTRATION_DESCRIPTION),
    )
    audit_record(
        actor=Actor.anonymous(),
        action="users.registration.started",
        obj=customer,
        customer_id=customer.pk,
        after={"phone": mask_phone(customer.phone_on_file), "registered_before": user is not None},
    )
    return challenge


def registration_resend(*, pending: PendingActivation) -> PendingActivation:
    """Send a new activation password for the same registration; the tries used so far stay used.

    The decoy counts its "sends" and refuses the fourth alike (it changes in place: keep it in the session).
    """
    if isinstance(pending, SmsChallenge):
        return challenge_resend(actor=Actor.anonymous(), challenge=pending)
    if pending.sends >= MAX_SENDS:
        raise resend_limit_error()
    pending.sends += 1
    pending.expires_at = timezone.now() + CODE_LIFETIME[ChallengePurpose.REGISTRATION]
    return pending


def registration_activate(*, pending: PendingActivation, code: str) -> SmsChallenge:
    """Step 3: check the activation password; raises ChallengeError when it is wrong, expired or used.

    Runs outside any transaction of the caller: a wrong try must stay counted. A decoy takes every code
    as a wrong one (it changes in place: keep it in the session).
    """
    if isinstance(pending, DecoyActivation):
        if pending.is_expired():
            raise code_expired_error()
        pending.attempts += 1
        raise code_wrong_error(attempts_left=pending.attempts_left)
    challenge = pending
    if challenge.purpose != ChallengePurpose.REGISTRATION:
        raise ValueError("not a registration challenge")
    try:
        return challenge_verify(actor=Actor.anonymous(), challenge=challenge, code=code)
    except ChallengeError as exc:
        if exc.code == "too_many_attempts":
            _refused_record(reason="activation_attempts_exceeded", customer=challenge.customer)
        raise


def registration_password_step_open(*, challenge: SmsChallenge, now: dt.datetime | None = None) -> bool:
    """Whether the new password may still be set with this (confirmed, unused) activation challenge."""
    now = now or timezone.now()
    return (
        challenge.state == ChallengeState.CONFIRMED
        and challenge.completed_at is None
        and challenge.finished_at is not None
        and now - challenge.finished_at <= PASSWORD_STEP_WINDOW
    )


def _notify_password_set_again(user: User, customer: Customer) -> None:
    # The portal phone's owner hears of every new password [ASVS 5.0 6.3.7]: when the codes go to another
    # phone than the one on file, its owner learns of it (and can call the bank if it was not them); when
    # they go to the same phone, the notice still says what the activation password was used for.
    to = user.portal_phone or customer.phone_on_file
    if to:
        sms_send(
            to=to,
            message=SMS_PASSWORD_SET_BY_REGISTRATION.render(),
            purpose="users.registration.password_set",
        )


@transaction.atomic
def registration_complete(*, challenge: SmsChallenge, password: str) -> RegistrationCompleted:
    """Step 4: set the user's own password (creating the portal user on first registration).

    The challenge must be this registration's confirmed activation password,
    confirmed less than 30 minutes ago and not used yet: it completes one
    registration only (``completed_at``, set under the challenge's row lock).
    """
    # The customer's row lock serializes two completions racing for one customer.
    customer = Customer.objects.select_for_update().get(pk=challenge.customer_id)
    challenge = SmsChallenge.objects.select_for_update().get(pk=challenge.pk)
    now = timezone.now()
    if (
        challenge.purpose != ChallengePurpose.REGISTRATION
        or challenge.customer_id != customer.pk
        # completed_at: this activation password has already set a password (single use).
        or challenge.completed_at is not None
        or not registration_password_step_open(challenge=challenge, now=now)
    ):
        raise RegistrationExpired()
    user = User.objects.select_for_update().filter(customer=customer).first()
    try:
        validate_portal_password(password, user=user, customer=customer)
    except ValidationError as exc:
        raise PasswordRejected(exc) from None
    if challenge_code_matches(challenge=challenge, code=password):
        # The activation password is a one-time secret that went by SMS: it must not become the password
        # [ASVS 5.0 6.4.1] (it fits the policy's length, so the policy alone would let it through).
        raise PasswordRejected(
            ValidationError(
                _("The new password must not be the activation password from the text message."),
                code="password_is_activation_password",
            )
        )
    created = user is None
    if user is None:
        user = User(
            username=f"c{customer.pk}",
            kind=UserKind.CUSTOMER,
            customer=customer,
            portal_phone=customer.phone_on_file,
        )
    else:
        _notify_password_set_again(user, customer)
        # An earlier portal phone stays: it was confirmed by codes to both numbers.
        user.portal_phone = user.portal_phone or customer.phone_on_file
    # Argon2id (PASSWORD_HASHERS); changing the hash also ends every other session.
    user.set_password(password)
    user.password_changed_at = now
    # A lock after wrong passwords stays until midnight or a staff unlock: a new
    # password is no third way to lift it [bank], or a guesser who also has the
    # phone would get the day's lock lifted. A lock that has ended, and the count
    # of failures outside a lock, go with the old password.
    if not user.is_locked(now):
        user.failed_login_count = 0
        user.locked_until = None
    user.save()
    challenge.completed_at = now
    challenge.save(update_fields=["completed_at"])
    audit_record(
        actor=Actor.for_user(user),
        action="users.registration.completed",
        obj=user,
        customer_id=customer.pk,
        after={"new_user": created, "access_blocked": user.is_access_blocked, "locked": user.is_locked(now)},
    )
    return RegistrationCompleted(user=user, created=created, access_blocked=user.is_access_blocked)
