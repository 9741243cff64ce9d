"""The token service provider asks whether to provision a token: decline, approve, or check with an SMS code first.

The provider identifies the card as the card network gives it: the full card number (found by its
keyed fingerprint, never stored, logged or answered) and its expiry. The decision:

- **decline** when the card cannot pay (``cards/usability.py``: its reason is the answer's), when its
  mobile payments are off, or when a check is needed and the holder has no phone to send the code to;
- **approve** when the provider's own risk assessment recommends it;
- otherwise **require verification**: a one-time code by SMS to the holder's phone on file, which the
  wallet asks the holder for (3 tries, 10 minutes: the SMS challenge of ``kartosfera/sca``); at most
  ``MAX_VERIFICATIONS_PER_DAY`` codes a card in 24 hours, then **decline**.

Every step is idempotent: the provider retries a request until it gets an answer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.cards.models import Card
from kartosfera.cards.pan import pan_fingerprint
from kartosfera.cards.usability import card_usability
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import InvalidTransition
from kartosfera.customers.identity import mask_phone
from kartosfera.devices.models import AppDevice
from kartosfera.sca.models import ChallengePurpose, ChallengeState, SmsChallenge
from kartosfera.sca.services import ChallengeError, challenge_issue, challenge_verify
from kartosfera.tokens.models import Token
from kartosfera.tokens.services import token_register, token_transition
from kartosfera.tokens.states import ProvisioningDecision, TokenStatus, Wallet
from kartosfera.users.services import holder_phone

PROVISIONING_OPERATION = "tokens.token.provision"
# Codes sent for one card in 24 hours before its requests are declined. Each request gets a new code with
# 3 tries: without a cap, whoever holds the card's number and expiry could add it again and again and guess
# on (and flood the holder's phone) [ours: 5 leave room for a few phones and mistakes].
MAX_VERIFICATIONS_PER_DAY = 5


class Decision:
    APPROVE = "approve"
    DECLINE = "decline"
    REQUIRE_VERIFICATION = "require_verification"


class DeclineReason:
    """Why a request is declined, beside the card's own ``Unusable`` codes (card_expired, card_blocked_by_holder, …)."""

    CARD_UNKNOWN = "card_unknown"
    MOBILE_PAYMENTS_OFF = "mobile_payments_off"
    NO_PHONE = "no_phone_on_file"
    REFERENCE_OF_ANOTHER_CARD = "token_reference_taken"
    # A BS Pay token is for one activated BS Pay device of the card's holder: none named, not the holder's,
    # or blocked.
    BS_PAY_DEVICE_UNUSABLE = "bs_pay_device_unusable"
    # MAX_VERIFICATIONS_PER_DAY codes were sent for the card in the last 24 hours.
    VERIFICATION_LIMIT = "verification_limit_reached"


class Recommendation:
    """The provider's risk assessment of the request (as Visa's and Mastercard's token services send one)."""

    APPROVE = "approve"
    REQUIRE_VERIFICATION = "require_verification"


@dataclass(frozen=True)
class ProvisioningRequest:
    pan: str
    expiry: dt.date | None
    token_reference: str
    token_last4: str
    wallet: str
    device_name: str
    device_type: str
    recommendation: str
    # For the BS Pay wallet: the device's public id (the X-Device-Id its app signs with).
    app_device_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ProvisioningAnswer:
    decision: str
    reason: str = ""
    token: Token | None = None
    # Where the code went (+48 *** *** 789), for the wallet to tell the holder; when it stops being valid.
    phone_masked: str = ""
    code_expires_at: dt.datetime | None = None


def _card_of(pan: str, expiry: dt.date | None) -> Card | None:
    found = Card.objects.filter(pan_fingerprint=pan_fingerprint(pan))
    cards = [card for card in found if expiry is None or card.expiry == expiry]
    # A renewed card keeps its number: the newest expiry is the card in use.
    return max(cards, key=lambda card: card.expiry, default=None)


def provisioning_description(*, card: Card, wallet: str) -> str:
    """How the SMS names what its code confirms (GSM-7: the card as *1234)."""
    return _("adding card *%(last4)s to %(wallet)s") % {"last4": card.pan_last4, "wallet": Wallet(wallet).label}


def _answer_for(token: Token) -> ProvisioningAnswer:
    """The answer already given for ``token`` (a retried request gets it again, without a second SMS)."""
    if token.provisioning_decision == ProvisioningDecision.VERIFICATION_REQUIRED and token.verification is not None:
        challenge = token.verification
        return ProvisioningAnswer(
            decision=Decision.REQUIRE_VERIFICATION,
            token=token,
            phone_masked=mask_phone(challenge.phone),
            code_expires_at=challenge.expires_at,
        )
    if token.provisioning_decision == ProvisioningDecision.VERIFICATION_FAILED or token.status == TokenStatus.DELETED:
        return ProvisioningAnswer(decision=Decision.DECLINE, reason="verification_failed", token=token)
    return ProvisioningAnswer(decision=Decision.APPROVE, token=token)


def _declined(*, actor: Actor, card: Card, request: ProvisioningRequest, reason: str) -> ProvisioningAnswer:
    audit_record(
        actor=actor,
        action="tokens.provisioning.declined",
        obj=card,
        customer_id=card.customer_id,
        after={"wallet": request.wallet, "token_last4": request.token_last4, "reason": reason},
    )
    return ProvisioningAnswer(decision=Decision.DECLINE, reason=reason)


@transaction.atomic
def token_provisioning_decide(*, actor: Actor, request: ProvisioningRequest) -> ProvisioningAnswer:
    """Answer the provider's request to provision a token for a card (see the module's docstring)."""
    found = _card_of(request.pan, request.expiry)
    if found is None:
        # Nobody's card: nothing to audit against; the answer is all the provider learns.
        return ProvisioningAnswer(decision=Decision.DECLINE, reason=DeclineReason.CARD_UNKNOWN)
    # Under the card's lock: a block or a mobile payments switch that commits first is seen here.
    card = Card.objects.select_for_update(of=("self",)).select_related("customer").get(pk=found.pk)
    existing = Token.objects.select_related("verification").filter(token_reference=request.token_reference).first()
    if existing is not None:
        if existing.card_id != card.pk:
            return ProvisioningAnswer(decision=Decision.DECLINE, reason=DeclineReason.REFERENCE_OF_ANOTHER_CARD)
        return _answer_for(existing)
    usability = card_usability(card)
    if not usability.usable:
        return _declined(actor=actor, card=card, request=request, reason=str(usability.reason))
    if not card.mobile_payments_enabled:
        return _declined(actor=actor, card=card, request=request, reason=DeclineReason.MOBILE_PAYMENTS_OFF)
    app_device = None
    if request.wallet == Wallet.BS_PAY:
        app_device = (
            AppDevice.objects.filter(public_id=request.app_device_id, customer=card.customer).first()
            if request.app_device_id is not None
            else None
        )
        if app_device is None or not app_device.is_active:
            return _declined(actor=actor, card=card, request=request, reason=DeclineReason.BS_PAY_DEVICE_UNUSABLE)
    phone = ""
    if request.recommendation != Recommendation.APPROVE:
        phone = holder_phone(card.customer) or ""
        if not phone:
            return _declined(actor=actor, card=card, request=request, reason=DeclineReason.NO_PHONE)
        # Counted under the card's row lock (above), so racing requests cannot pass the cap together.
        recent = SmsChallenge.objects.filter(
            customer_id=card.customer_id,  # the index of recent challenges
            purpose=ChallengePurpose.WALLET_PROVISIONING,
            card_id=card.pk,
            created_at__gte=timezone.now() - dt.timedelta(hours=24),
        ).count()
        if recent >= MAX_VERIFICATIONS_PER_DAY:
            return _declined(actor=actor, card=card, request=request, reason=DeclineReason.VERIFICATION_LIMIT)
    token = token_register(
        actor=actor,
        card=card,
        token_reference=request.token_reference,
        token_last4=request.token_last4,
        wallet=request.wallet,
        device_name=request.device_name,
        device_type=request.device_type,
        decision=ProvisioningDecision.APPROVED if not phone else ProvisioningDecision.VERIFICATION_REQUIRED,
        app_device=app_device,
    )
    if not phone:
        return ProvisioningAnswer(decision=Decision.APPROVE, token=token)
    challenge = challenge_issue(
        actor=actor,
        purpose=ChallengePurpose.WALLET_PROVISIONING,
        customer=card.customer,
        phone=phone,
        operation=PROVISIONING_OPERATION,
        description=provisioning_description(card=card, wallet=request.wallet),
        card_id=card.pk,
        payload={"token_id": token.pk},
    )
    token.verification = challenge
    token.save(update_fields=["verification", "updated_at"])
    return ProvisioningAnswer(
        decision=Decision.REQUIRE_VERIFICATION,
        token=token,
        phone_masked=mask_phone(phone),
        code_expires_at=challenge.expires_at,
    )


class VerificationResult:
    VERIFIED = "verified"
    CODE_INVALID = "code_invalid"
    FAILED = "failed"
    NOT_REQUIRED = "not_required"


@dataclass(frozen=True)
class VerificationAnswer:
    result: str
    attempts_left: int = 0


def token_provisioning_verify(*, actor: Actor, token: Token, code: str) -> VerificationAnswer:
    """Check the code the wallet got from the holder; three wrong codes or an expired one end the request.

    Runs outside a transaction of its own: a wrong try is committed by ``challenge_verify`` before
    its error, so that a rollback never hands a guesser a free try.
    """
    token = Token.objects.select_related("verification").get(pk=token.pk)
    if token.provisioning_decision == ProvisioningDecision.VERIFIED:
        return VerificationAnswer(result=VerificationResult.VERIFIED)
    if token.provisioning_decision == ProvisioningDecision.VERIFICATION_FAILED:
        return VerificationAnswer(result=VerificationResult.FAILED)
    if token.provisioning_decision != ProvisioningDecision.VERIFICATION_REQUIRED or token.verification is None:
        return VerificationAnswer(result=VerificationResult.NOT_REQUIRED)
    try:
        challenge_verify(actor=actor, challenge=token.verification, code=code)
    except ChallengeError as exc:
        if exc.code == "code_invalid":
            return VerificationAnswer(result=VerificationResult.CODE_INVALID, attempts_left=exc.attempts_left)
        if exc.code != "code_used":
            # Three wrong codes, an expired code, a closed challenge: the request ends here.
            _verification_end(actor=actor, token=token, verified=False, why=exc.code)
            return VerificationAnswer(result=VerificationResult.FAILED)
    _verification_end(actor=actor, token=token, verified=True, why="")
    return VerificationAnswer(result=VerificationResult.VERIFIED)


@transaction.atomic
def _verification_end(*, actor: Actor, token: Token, verified: bool, why: str) -> None:
    # of=self: PostgreSQL cannot lock the nullable side of the outer join to the challenge.
    token = Token.objects.select_for_update(of=("self",)).select_related("card", "verification").get(pk=token.pk)
    if token.provisioning_decision != ProvisioningDecision.VERIFICATION_REQUIRED:
        return  # a concurrent retry got here first
    if verified and (token.verification is None or token.verification.state != ChallengeState.CONFIRMED):
        raise InvalidTransition(_("The code has not been confirmed."))
    token.provisioning_decision = (
        ProvisioningDecision.VERIFIED if verified else ProvisioningDecision.VERIFICATION_FAILED
    )
    token.save(update_fields=["provisioning_decision", "updated_at"])
    action = "tokens.provisioning.verified" if verified else "tokens.provisioning.verification_failed"
    audit_record(
        actor=actor,
        action=action,
        obj=token,
        customer_id=token.card.customer_id,
        bank_id=token.card.bank_id,
        after={"card_id": token.card_id, "wallet": token.wallet, "token_last4": token.token_last4, "reason": why},
    )
    if not verified:
        # The wallet will not get the token: it is gone (no command, the provider learns it from our answer).
        token_transition(actor=actor, token=token, to_status=TokenStatus.DELETED)
