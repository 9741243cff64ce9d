"""One-time SMS codes: issue, resend, verify. Used by registration, login and step-up.

Rules [law: PSD2 RTS art. 4, 5]: a code is random, single use, expires (5 minutes,
or 60 for the activation password), allows 3 tries, and its SMS names what it
confirms. Asking for a new code replaces the code but resets no counter.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.banks.models import Bank
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.crypto import keyed_digest
from kartosfera.core.errors import DomainError
from kartosfera.customers.identity import mask_phone
from kartosfera.customers.models import Customer
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.texts import SmsText, sms_bank_name
from kartosfera.sca.models import ChallengeChannel, ChallengePurpose, ChallengeState, ConfirmWith, SmsChallenge
from kartosfera.sca.sms_texts import SMS_ACTIVATION_PASSWORD, SMS_CODE

if TYPE_CHECKING:
    # Only the type: sca is below users (users' sign-in and registration use its challenges; docs/architecture.md).
    from kartosfera.users.models import User

CODE_LIFETIME = {
    # 10 minutes, not the 60 of the bank's own portal: an out-of-band code lives at most 10 [ASVS 5.0 6.5.5];
    # the activation password is asked for on the page and typed there at once (decision 0023).
    ChallengePurpose.REGISTRATION: dt.timedelta(minutes=10),
    ChallengePurpose.LOGIN: dt.timedelta(minutes=5),
    ChallengePurpose.STEP_UP: dt.timedelta(minutes=5),
    ChallengePurpose.PHONE_VERIFICATION: dt.timedelta(minutes=5),
    # The wallet asks the holder for the code in its own screens, after the provider's round trips: 10 minutes.
    ChallengePurpose.WALLET_PROVISIONING: dt.timedelta(minutes=10),
}
MAX_SENDS = 3
# Activation passwords avoid characters that are easy to misread (0/O, 1/I/l).
ACTIVATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ACTIVATION_LENGTH = 10


class ChallengeError(DomainError):
    code = "challenge_error"

    def __init__(self, message: str, *, code: str, attempts_left: int = 0) -> None:
        self.attempts_left = attempts_left
        super().__init__(message, code=code)


class CodeInvalid(ChallengeError):
    default_message = gettext_lazy("The code is not correct.")


# The answers to a code, in one place: registration's decoy (kartosfera/users/registration.py) gives the
# very same ones for an identifier that got no code, so that nobody can tell the two apart.
def code_expired_error() -> ChallengeError:
    return ChallengeError(_("The code has expired. Ask for a new one."), code="code_expired")


def code_wrong_error(*, attempts_left: int) -> ChallengeError:
    """A wrong code: how many tries are left, or the end of the challenge after the last one."""
    if attempts_left <= 0:
        return ChallengeError(_("The code was wrong three times. Start again."), code="too_many_attempts")
    return CodeInvalid(
        _("The code is not correct. Tries left: %(left)d.") % {"left": attempts_left},
        code="code_invalid",
        attempts_left=attempts_left,
    )


def resend_limit_error() -> ChallengeError:
    return ChallengeError(_("No more codes can be sent for this operation. Start again."), code="resend_limit")


def login_phone(user: User) -> str | None:
    """Where the user's one-time codes go, sign-in and step-up alike: the portal phone (the phone on file for older
    accounts)."""
    if user.portal_phone:
        return user.portal_phone
    return user.customer.phone_on_file if user.customer is not None else None


def _generate_code(purpose: str) -> str:
    if purpose == ChallengePurpose.REGISTRATION:
        return "".join(secrets.choice(ACTIVATION_ALPHABET) for _ in range(ACTIVATION_LENGTH))
    return f"{secrets.randbelow(10**6):06d}"


def _normalize(code: str) -> str:
    return "".join((code or "").split()).upper()


def _digest(challenge: SmsChallenge, code: str) -> str:
    return keyed_digest("sca.code", f"{challenge.public_id}:{_normalize(code)}")


def _sms_text(challenge: SmsChallenge, code: str, bank: Bank | None) -> SmsText:
    if challenge.purpose == ChallengePurpose.REGISTRATION:
        return SMS_ACTIVATION_PASSWORD.render(code=code)
    return SMS_CODE.render(bank=sms_bank_name(bank), code=code, description=challenge.description)


def _card_bank(card_id: int | None) -> Bank | None:
    """The bank that issued the card a challenge confirms an operation on (its code comes from that bank)."""
    if card_id is None:
        return None
    return Bank.objects.filter(cards__pk=card_id).defer("logo").first()


@transaction.atomic
def challenge_issue(
    *,
    actor: Actor,
    purpose: str,
    customer: Customer,
    phone: str,
    operation: str,
    description: str,
    user: Any = None,
    card_id: int | None = None,
    payload: dict[str, Any] | None = None,
    channel: str = ChallengeChannel.WEB,
    app_device_id: uuid.UUID | None = None,
    confirm_with: str = ConfirmWith.SMS,
) -> SmsChallenge:
    """Create a challenge and send its code by SMS (after commit) to ``phone``.

    ``confirm_with=PASSKEY`` creates a challenge that only the user's passkey confirms
    (``challenge_passkey_result``): no code is made and no SMS is sent.
    """
    challenge = SmsChallenge(
        purpose=purpose,
        customer=customer,
        user=user,
        operation=operation,
        description=description[:200],
        card_id=card_id,
        payload=payload or {},
        phone=phone,
        channel=channel,
        app_device_id=app_device_id,
        expires_at=timezone.now() + CODE_LIFETIME[ChallengePurpose(purpose)],
        confirm_with=confirm_with,
    )
    if confirm_with == ConfirmWith.PASSKEY:
        challenge.code_digest = ""
        challenge.save()
        audit_record(
            actor=actor,
            action="sca.passkey.requested",
            obj=challenge,
            customer_id=customer.pk,
            after={"purpose": purpose, "operation": operation, "description": description, "channel": channel},
        )
        return challenge
    code = _generate_code(purpose)
    challenge.code_digest = _digest(challenge, code)
    challenge.save()
    bank = _card_bank(card_id)
    sms_send(to=phone, message=_sms_text(challenge, code, bank), purpose=f"sca.{purpose}", bank=bank)
    audit_record(
        actor=actor,
        action="sca.code.sent",
        obj=challenge,
        customer_id=customer.pk,
        after={
            "purpose": purpose,
            "operation": operation,
            "description": description,
            "phone": mask_phone(phone),
            "channel": channel,
        },
    )
    return challenge


@transaction.atomic
def challenge_resend(*, actor: Actor, challenge: SmsChallenge) -> SmsChallenge:
    """Send a new code for the same operation; tries used so far stay used."""
    challenge = SmsChallenge.objects.select_for_update().get(pk=challenge.pk)
    if challenge.state != ChallengeState.PENDING:
        raise ChallengeError(_("This confirmation has ended. Start again."), code="challenge_closed")
    if challenge.confirm_with == ConfirmWith.PASSKEY:
        raise ChallengeError(_("This confirmation takes your passkey, not a code."), code="passkey_required")
    if challenge.sends >= MAX_SENDS:
        raise resend_limit_error()
    code = _generate_code(challenge.purpose)
    challenge.code_digest = _digest(challenge, code)
    challenge.sends += 1
    challenge.expires_at = timezone.now() + CODE_LIFETIME[ChallengePurpose(challenge.purpose)]
    challenge.save(update_fields=["code_digest", "sends", "expires_at"])
    bank = _card_bank(challenge.card_id)
    sms_send(
        to=challenge.phone, message=_sms_text(challenge, code, bank), purpose=f"sca.{challenge.purpose}", bank=bank
    )
    audit_record(
        actor=actor,
        action="sca.code.resent",
        obj=challenge,
        customer_id=challenge.customer_id,
        after={"purpose": challenge.purpose, "operation": challenge.operation, "sends": challenge.sends},
    )
    return challenge


def challenge_code_matches(*, challenge: SmsChallenge, code: str) -> bool:
    """Whether ``code`` is the challenge's current code, counting no try (the activation password must never become
    the password: registration compares the new password with it)."""
    return hmac.compare_digest(challenge.code_digest, _digest(challenge, code))


def challenge_verify(*, actor: Actor, challenge: SmsChallenge, code: str) -> SmsChallenge:
    """Check a code; on success the challenge is confirmed (single use).

    Raises ChallengeError otherwise. A wrong try is committed before the error
    is raised, so call this outside any transaction of your own: a rollback
    would hand the guesser a free try.
    """
    error: ChallengeError | None = None
    with transaction.atomic():
        challenge = SmsChallenge.objects.select_for_update().get(pk=challenge.pk)
        audit_after: dict[str, Any] = {"purpose": challenge.purpose, "operation": challenge.operation}
        if challenge.state == ChallengeState.CONFIRMED:
            error = ChallengeError(_("This code has already been used."), code="code_used")
            action = "sca.code.replayed"
        elif challenge.state != ChallengeState.PENDING:
            error = ChallengeError(_("This confirmation has ended. Start again."), code="challenge_closed")
            action = "sca.code.refused"
        elif challenge.is_expired():
            error = code_expired_error()
            action = "sca.code.expired"
        elif challenge.confirm_with == ConfirmWith.PASSKEY:
            # No code exists: a typed one is refused without using up a try of the passkey.
            error = ChallengeError(_("This confirmation takes your passkey, not a code."), code="passkey_required")
            action = "sca.code.refused"
        elif hmac.compare_digest(challenge.code_digest, _digest(challenge, code)):
            challenge.state = ChallengeState.CONFIRMED
            challenge.finished_at = timezone.now()
            challenge.save(update_fields=["state", "finished_at"])
            action = "sca.code.confirmed"
        else:
            challenge.attempts += 1
            if challenge.attempts >= challenge.max_attempts:
                challenge.state = ChallengeState.FAILED
                challenge.finished_at = timezone.now()
            error = code_wrong_error(attempts_left=challenge.attempts_left)
            challenge.save(update_fields=["attempts", "state", "finished_at"])
            action = "sca.code.failed"
            audit_after["attempts_left"] = challenge.attempts_left
        audit_record(actor=actor, action=action, obj=challenge, customer_id=challenge.customer_id, after=audit_after)
    if error is not None:
        raise error
    return challenge


def challenge_passkey_result(*, actor: Actor, challenge: SmsChallenge, proven: bool) -> SmsChallenge:
    """Record the user's passkey answer to a passkey challenge: confirmed, or one try used (3 end it).

    The passkey itself is checked by the caller (kartosfera/users/passkeys.py, above this app); this keeps the
    challenge's state machine the same for codes and passkeys. Like ``challenge_verify``, a failed try is
    committed before ChallengeError is raised: call it outside any transaction of your own.
    """
    error: ChallengeError | None = None
    with transaction.atomic():
        challenge = SmsChallenge.objects.select_for_update().get(pk=challenge.pk)
        audit_after: dict[str, Any] = {"purpose": challenge.purpose, "operation": challenge.operation}
        if challenge.confirm_with != ConfirmWith.PASSKEY:
            raise ValueError("not a passkey challenge")
        if challenge.state != ChallengeState.PENDING:
            error = ChallengeError(_("This confirmation has ended. Start again."), code="challenge_closed")
            action = "sca.passkey.refused"
        elif challenge.is_expired():
            error = ChallengeError(_("The confirmation has expired. Start again."), code="code_expired")
            action = "sca.passkey.refused"
        elif proven:
            challenge.state = ChallengeState.CONFIRMED
            challenge.finished_at = timezone.now()
            challenge.save(update_fields=["state", "finished_at"])
            action = "sca.passkey.confirmed"
        else:
            challenge.attempts += 1
            if challenge.attempts >= challenge.max_attempts:
                challenge.state = ChallengeState.FAILED
                challenge.finished_at = timezone.now()
                error = ChallengeError(
                    _("The passkey was not confirmed three times. Start again."), code="too_many_attempts"
                )
            else:
                error = ChallengeError(
                    _("The passkey was not confirmed. Tries left: %(left)d.") % {"left": challenge.attempts_left},
                    code="passkey_refused",
                )
            challenge.save(update_fields=["attempts", "state", "finished_at"])
            action = "sca.passkey.failed"
            audit_after["attempts_left"] = challenge.attempts_left
        audit_record(actor=actor, action=action, obj=challenge, customer_id=challenge.customer_id, after=audit_after)
    if error is not None:
        raise error
    return challenge


@transaction.atomic
def challenge_cancel(*, actor: Actor, challenge: SmsChallenge, reason: str = "") -> None:
    """Abandon a pending challenge (the user cancelled or started again; ``reason``: why the system ended it)."""
    updated = SmsChallenge.objects.filter(pk=challenge.pk, state=ChallengeState.PENDING).update(
        state=ChallengeState.CANCELLED, finished_at=timezone.now()
    )
    if updated:
        audit_record(
            actor=actor,
            action="sca.challenge.cancelled",
            obj=challenge,
            customer_id=challenge.customer_id,
            after={"operation": challenge.operation, **({"reason": reason} if reason else {})},
        )
