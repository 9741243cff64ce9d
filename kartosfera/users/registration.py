"""Registration in the portal, which is also how a forgotten password is set anew.

PRODUCT.md "Registration" [bank]: PESEL or the bank-assigned ID → the phone on
file, shown masked → an activation password by SMS to that phone, valid 60
minutes, single use → the user types it → sets their own password → signed in.
Registering again [ours] sets a new password, which ends every other session
(Django's session auth hash changes with the password). It lifts neither a
lock after wrong passwords (it ends at midnight, or staff unlock it the same
day [bank]) nor a block of portal access (only staff lift that).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError
from kartosfera.customers.identity import mask_phone, validate_pesel
from kartosfera.customers.models import Customer
from kartosfera.notifications.services import sms_send
from kartosfera.sca.models import ChallengePurpose, ChallengeState, SmsChallenge
from kartosfera.sca.services import (
    ChallengeError,
    challenge_cancel,
    challenge_code_matches,
    challenge_issue,
    challenge_resend,
    challenge_verify,
)
from kartosfera.sca.sms_texts import REGISTRATION_DESCRIPTION
from kartosfera.users.models import User, UserKind
from kartosfera.users.passwords import validate_portal_password
from kartosfera.users.selectors import customer_find_for_registration, normalize_identifier
from kartosfera.users.sms_texts import SMS_PASSWORD_SET_BY_REGISTRATION

REGISTRATION_OPERATION = "users.registration"
# After the activation password is accepted, the new password must follow soon:
# a confirmed challenge left in an unattended browser must not set one hours later.
PASSWORD_STEP_WINDOW = dt.timedelta(minutes=30)


class RegistrationRefused(DomainError):
    code = "registration_refused"


class CustomerNotFound(RegistrationRefused):
    default_message = gettext_lazy(
        "We could not find a customer with this PESEL or identification number. Check the number; "
        "if it is right, please contact a branch of your bank."
    )
    code = "customer_not_found"


class NoPhoneOnFile(RegistrationRefused):
    default_message = gettext_lazy(
        "The bank has no mobile phone number of yours, so we cannot send you the activation password. "
        "Please visit a branch of your bank to give your phone number; then you can register here."
    )
    code = "no_phone_on_file"


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


def registration_identify(*, identifier: str) -> Customer:
    """Step 1: the customer with this PESEL or bank-assigned ID, who must have a phone on file.

    Raises ValidationError for a malformed PESEL (a clear message about the
    number itself) and RegistrationRefused when the bank knows no such customer
    or has no phone number for them.
    """
    value = normalize_identifier(identifier)
    customer = customer_find_for_registration(identifier=value)
    if customer is None:
        if value.isdigit():
            validate_pesel(value)  # "PESEL check digit is wrong" helps more than "not found"
        _refused_record(reason="not_found")
        raise CustomerNotFound()
    if not customer.phone_on_file:
        _refused_record(reason="no_phone", customer=customer)
        raise NoPhoneOnFile()
    return customer


@transaction.atomic
def registration_start(*, customer: Customer, previous_challenge: SmsChallenge | None = None) -> SmsChallenge:
    """Step 2: send the activation password (valid 10 minutes, single use) to the phone on file."""
    customer = Customer.objects.select_related("portal_user").get(pk=customer.pk)
    if not customer.phone_on_file:
        raise NoPhoneOnFile()
    if previous_challenge is not None:
        # Starting again: the activation password sent before stops working.
        challenge_cancel(actor=Actor.anonymous(), challenge=previous_challenge)
    user = getattr(customer, "portal_user", None)
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


def registration_resend(*, challenge: SmsChallenge) -> SmsChallenge:
    """Send a new activation password for the same registration; the tries used so far stay used."""
    return challenge_resend(actor=Actor.anonymous(), challenge=challenge)


def registration_activate(*, challenge: SmsChallenge, code: str) -> SmsChallenge:
    """Step 3: check the activation password; raises ChallengeError when it is wrong, expired or used.

    Runs outside any transaction of the caller: a wrong try must stay counted.
    """
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
