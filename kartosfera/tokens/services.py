"""The wallet tokens' writes: the holder's and the bank's actions, the card's cascades, the provider's events.

Every change locks the token (and, for a cascade, runs under the card's lock), checks the status
machine (tokens/states.py), writes its audit row in the same transaction and, when the provider
must learn of it, queues a command in the outbox (tokens/delivery.py) that is sent after commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import InvalidTransition, ValidationFailed
from kartosfera.core.models import ActorType
from kartosfera.customers.selectors import customer_payments_stopped
from kartosfera.tokens.models import Token, TokenServiceCommand
from kartosfera.tokens.states import (
    CARD_CAUSES,
    RESUMABLE_BY,
    ProviderSync,
    ProvisioningDecision,
    SuspendedBy,
    TokenCommand,
    TokenStatus,
    is_transition_allowed,
)

if TYPE_CHECKING:
    from kartosfera.cards.models import Card
    from kartosfera.devices.models import AppDevice

REASON_MAX_LENGTH = 200

# When a suspended token is suspended again for another cause, the stronger cause takes over, so that
# lifting the weaker one never resumes it: the bank's over everything; the holder's over the wallet's
# and the card's (a holder who suspended a token while the card was blocked keeps it suspended after
# the unblock); the card's block over mobile payments being off. A device's block goes below the holder's.
# "Stop everything" goes between the holder's own suspension (which outlives the stop) and the device's block
# (lifting the stop checks the device, the card and mobile payments itself: ``customer_tokens_resume``).
SUSPENSION_PRECEDENCE: dict[str, int] = {
    SuspendedBy.BANK: 50,
    SuspendedBy.HOLDER: 40,
    SuspendedBy.CUSTOMER_STOP: 37,
    SuspendedBy.DEVICE_BLOCK: 35,
    SuspendedBy.WALLET: 30,
    SuspendedBy.CARD_BLOCK: 20,
    SuspendedBy.MOBILE_PAYMENTS_OFF: 10,
}


def party_of(actor: Actor) -> str:
    """Whose suspension an actor makes: the bank's (staff, its systems, its API keys) or the holder's."""
    if actor.type in {ActorType.STAFF, ActorType.SYSTEM, ActorType.API_CLIENT}:
        return SuspendedBy.BANK
    return SuspendedBy.HOLDER


def _lock(token: Token) -> Token:
    # The token's row only (of=self): locking the joined card too would take the card's lock after the
    # token's, the reverse of the card's services (card, then its tokens), and deadlock with a block.
    return Token.objects.select_for_update(of=("self",)).select_related("card").get(pk=token.pk)


def _token_view(token: Token) -> dict[str, Any]:
    # Enough for a trail to name the token the way the holder sees it, and which card it belongs to.
    return {"card_id": token.card_id, "wallet": token.wallet, "token_last4": token.token_last4}


def _audit_scope(token: Token) -> dict[str, Any]:
    # The card's customer and bank: the token's rows join the card's in the customer's trail and the bank's scope.
    return {"obj": token, "customer_id": token.card.customer_id, "bank_id": token.card.bank_id}


def _command_queue(token: Token, command: str) -> TokenServiceCommand:
    """Write the command for the provider with the change; its delivery starts after commit."""
    from kartosfera.tokens.delivery import token_commands_delivery_enqueue

    queued = TokenServiceCommand.objects.create(token=token, command=command)
    token.provider_sync = ProviderSync.PENDING
    token.last_command = command
    # After commit: a rolled-back change must not reach the wallet, and the worker must find the row.
    token_id = token.pk
    transaction.on_commit(lambda: token_commands_delivery_enqueue(token_id=token_id))
    return queued


def token_transition(
    *,
    actor: Actor,
    token: Token,
    to_status: str,
    suspended_by: str = "",
    command: str | None = None,
    now: Any = None,
    extra: dict[str, Any] | None = None,
) -> Token:
    """Move a locked token along the status machine, with its audit row and, if given, the provider's command.

    The one place a token's status changes; callers lock the token first and check their own rules.
    """
    if not is_transition_allowed(token.status, to_status):
        raise InvalidTransition(
            _("A token that is %(current)s cannot become %(target)s.")
            % {"current": TokenStatus(token.status).label, "target": TokenStatus(to_status).label}
        )
    if to_status == TokenStatus.DELETED:
        action = "tokens.token.deleted"
    elif to_status == TokenStatus.SUSPENDED:
        action = "tokens.token.suspended"
    elif token.status == TokenStatus.REQUESTED:
        action = "tokens.token.activated"
    else:
        action = "tokens.token.resumed"
    before = {"status": token.status, "suspended_by": token.suspended_by}
    token.status = to_status
    token.suspended_by = suspended_by if to_status == TokenStatus.SUSPENDED else ""
    token.status_changed_at = now or timezone.now()
    if command is not None:
        _command_queue(token, command)
    token.save()
    audit_record(
        actor=actor,
        action=action,
        **_audit_scope(token),
        before=before,
        after={**_token_view(token), "status": token.status, "suspended_by": token.suspended_by, **(extra or {})},
    )
    return token


def _recause(*, actor: Actor, token: Token, cause: str, extra: dict[str, Any] | None = None) -> Token:
    """Keep a suspended token suspended for another cause (no command: the wallet already has it suspended)."""
    before = {"status": token.status, "suspended_by": token.suspended_by}
    token.suspended_by = cause
    token.save(update_fields=["suspended_by", "updated_at"])
    audit_record(
        actor=actor,
        action="tokens.token.suspension_changed",
        **_audit_scope(token),
        before=before,
        after={**_token_view(token), "status": token.status, "suspended_by": cause, **(extra or {})},
    )
    return token


# --- The holder's and the bank's actions -------------------------------------------------------


@transaction.atomic
def token_suspend(*, actor: Actor, token: Token, reason: str = "") -> Token:
    """Suspend a token at once (no code: stopping payments must always work); the bank's suspension with a reason.

    A token already suspended for a weaker cause (the card's block, the wallet's) is kept suspended
    for this one, so that lifting the weaker cause does not resume it.
    """
    reason = reason.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed({"reason": _("The reason can have at most 200 characters.")})
    token = _lock(token)
    cause = party_of(actor)
    extra = {"reason": reason} if reason else {}
    if token.status == TokenStatus.SUSPENDED:
        if SUSPENSION_PRECEDENCE[cause] > SUSPENSION_PRECEDENCE.get(token.suspended_by, 0):
            return _recause(actor=actor, token=token, cause=cause, extra=extra)
        raise InvalidTransition(_("The token is already suspended."), code="token_already_suspended")
    if token.status != TokenStatus.ACTIVE:
        raise InvalidTransition(_("Only an active token can be suspended."), code="token_not_active")
    return token_transition(
        actor=actor,
        token=token,
        to_status=TokenStatus.SUSPENDED,
        suspended_by=cause,
        command=TokenCommand.SUSPEND,
        extra=extra,
    )


@transaction.atomic
def token_resume(*, actor: Actor, token: Token) -> Token:
    """Resume a suspended token (the portal confirms it with an SMS code first): the holder their own suspension only.

    A token suspended by the card's block or by mobile payments being off comes back with the card,
    not by hand; and no token is resumed while its card cannot pay with it.
    """
    # The card first, then the token: the order of the card's services (a block locks the card, then suspends its
    # tokens). Read without the card's lock, the card joined to the token's row could be the one from before a
    # block that committed while this waited for the token: the token came back on a blocked card (a race test
    # caught it).
    from kartosfera.cards.models import Card

    card = Card.objects.select_for_update().get(pk=token.card_id)
    token = _lock(token)
    token.card = card
    token_resume_check(actor=actor, token=token)
    return token_transition(
        actor=actor,
        token=token,
        to_status=TokenStatus.ACTIVE,
        command=TokenCommand.RESUME,
    )


def token_resume_check(*, actor: Actor, token: Token) -> None:
    """Raise InvalidTransition unless ``actor`` may resume ``token`` now (checked before a code is sent, and again)."""
    if token.status != TokenStatus.SUSPENDED:
        raise InvalidTransition(_("Only a suspended token can be resumed."), code="token_not_suspended")
    party = party_of(actor)
    if token.suspended_by in CARD_CAUSES:
        raise InvalidTransition(
            _(
                "This token was suspended together with its card: it comes back when the card is unblocked "
                "or mobile payments are switched on again."
            ),
            code="token_suspended_by_card",
        )
    if token.suspended_by not in RESUMABLE_BY[party]:
        raise InvalidTransition(_("Only the bank can resume this token."), code="token_suspended_by_bank")
    _require_card_allows_tokens(token.card)


def _require_card_allows_tokens(card: Card) -> None:
    from kartosfera.cards.states import CardStatus

    if card.status != CardStatus.ACTIVE or card.is_expired():
        raise InvalidTransition(_("The card cannot be used now, so neither can its tokens."), code="card_not_usable")
    if customer_payments_stopped(card.customer_id):
        raise InvalidTransition(_("All your payments are stopped: lift the stop first."), code="payments_stopped")
    if not card.mobile_payments_enabled:
        raise InvalidTransition(
            _("Mobile payments are switched off for this card: switch them on first."), code="mobile_payments_off"
        )


@transaction.atomic
def token_delete(*, actor: Actor, token: Token) -> Token:
    """Delete a token for good (the portal asks for a confirmation first); the wallet removes the card."""
    token = _lock(token)
    if token.status == TokenStatus.DELETED:
        raise InvalidTransition(_("The token is already deleted."), code="token_deleted")
    return token_transition(
        actor=actor,
        token=token,
        to_status=TokenStatus.DELETED,
        command=TokenCommand.DELETE,
    )


# --- In step with the card (called by the card's services, under the card's lock) ---------------


def _suspend_all(*, actor: Actor, tokens: list[Token], cause: str) -> int:
    """Suspend the active ``tokens`` for ``cause`` (locked by the caller); returns how many.

    A token already suspended for a weaker cause takes this one, so that lifting the weaker cause
    does not resume it while this one holds (SUSPENSION_PRECEDENCE). The one loop of every cascade:
    the card's, the device's and the customer's stop.
    """
    changed = 0
    for token in tokens:
        if token.status == TokenStatus.ACTIVE:
            token_transition(
                actor=actor,
                token=token,
                to_status=TokenStatus.SUSPENDED,
                suspended_by=cause,
                command=TokenCommand.SUSPEND,
            )
            changed += 1
        elif SUSPENSION_PRECEDENCE[cause] > SUSPENSION_PRECEDENCE.get(token.suspended_by, 0):
            _recause(actor=actor, token=token, cause=cause)
    return changed


def _card_tokens(card: Card, **filters: Any) -> list[Token]:
    return list(Token.objects.select_for_update().filter(card=card, **filters).order_by("pk"))


def card_tokens_suspend(*, actor: Actor, card: Card, cause: str) -> int:
    """Suspend the card's active tokens for a card cause (its block, mobile payments off); returns how many.

    A token already suspended for a weaker card cause takes this one (a block over mobile payments off).
    """
    if cause not in CARD_CAUSES:
        raise ValueError(f"{cause!r} is not a card's cause")
    tokens = _card_tokens(card, status__in=[TokenStatus.ACTIVE, TokenStatus.SUSPENDED])
    for token in tokens:
        token.card = card
    return _suspend_all(actor=actor, tokens=tokens, cause=cause)


def card_tokens_resume(*, actor: Actor, card: Card, cause: str) -> int:
    """Resume exactly the card's tokens that ``cause`` suspended; returns how many became active.

    A token that the other card cause still holds (the card unblocked while mobile payments are
    off, or the reverse) stays suspended, now for that cause. Tokens the holder, the bank or the
    wallet suspended are not touched.
    """
    from kartosfera.cards.states import CardStatus

    if cause not in CARD_CAUSES:
        raise ValueError(f"{cause!r} is not a card's cause")
    still_held_by = ""
    if card.status != CardStatus.ACTIVE:
        still_held_by = SuspendedBy.CARD_BLOCK
    elif not card.mobile_payments_enabled:
        still_held_by = SuspendedBy.MOBILE_PAYMENTS_OFF
    resumed = 0
    for token in _card_tokens(card, status=TokenStatus.SUSPENDED, suspended_by=cause):
        token.card = card
        if still_held_by:
            if still_held_by != cause:
                _recause(actor=actor, token=token, cause=still_held_by)
            continue
        token_transition(
            actor=actor,
            token=token,
            to_status=TokenStatus.ACTIVE,
            command=TokenCommand.RESUME,
            extra={"resumed_with": cause},
        )
        resumed += 1
    return resumed


def _device_tokens(device: AppDevice, **filters: Any) -> list[Token]:
    return list(
        Token.objects.select_for_update(of=("self",)).select_related("card").filter(app_device=device, **filters)
    )


def device_tokens_suspend(*, actor: Actor, device: AppDevice) -> int:
    """Suspend the BS Pay tokens on a device being blocked (called in the block's transaction); returns how many.

    A token already suspended for a weaker cause (the card's block, mobile payments off) takes the device's,
    so that lifting the weaker one does not resume a token on a blocked device.
    """
    tokens = _device_tokens(device, status__in=[TokenStatus.ACTIVE, TokenStatus.SUSPENDED])
    return _suspend_all(actor=actor, tokens=tokens, cause=SuspendedBy.DEVICE_BLOCK)


def device_tokens_resume(*, actor: Actor, device: AppDevice) -> int:
    """Resume exactly the tokens the device's block suspended (called when it is unblocked); returns how many.

    A token whose card is blocked or has mobile payments off meanwhile stays suspended, now for that cause,
    and comes back with the card.
    """
    from kartosfera.cards.states import CardStatus

    resumed = 0
    for token in _device_tokens(device, status=TokenStatus.SUSPENDED, suspended_by=SuspendedBy.DEVICE_BLOCK):
        if token.card.status != CardStatus.ACTIVE:
            _recause(actor=actor, token=token, cause=SuspendedBy.CARD_BLOCK)
            continue
        if not token.card.mobile_payments_enabled:
            _recause(actor=actor, token=token, cause=SuspendedBy.MOBILE_PAYMENTS_OFF)
            continue
        token_transition(
            actor=actor,
            token=token,
            to_status=TokenStatus.ACTIVE,
            command=TokenCommand.RESUME,
            extra={"resumed_with": SuspendedBy.DEVICE_BLOCK},
        )
        resumed += 1
    return resumed


# --- "Stop everything" (kartosfera/stops, under the customer's lock) -----------------------------


def _customer_tokens(customer_id: int, **filters: Any) -> list[Token]:
    # The tokens' rows only (of=self), in id order, as the device's cascade locks them: no deadlock with it.
    return list(
        Token.objects.select_for_update(of=("self",))
        .select_related("card", "app_device")
        .filter(card__customer_id=customer_id, **filters)
        .order_by("pk")
    )


def customer_tokens_suspend(*, actor: Actor, customer_id: int) -> int:
    """Suspend every active token of every card of a customer who stops everything; returns how many.

    A token already suspended for a weaker cause (the card's, the wallet's, the device's) is kept suspended for
    the stop, so that lifting that cause while the stop holds does not resume it; the holder's and the bank's
    own suspensions stay theirs (lifting the stop does not resume them).
    """
    tokens = _customer_tokens(customer_id, status__in=[TokenStatus.ACTIVE, TokenStatus.SUSPENDED])
    return _suspend_all(actor=actor, tokens=tokens, cause=SuspendedBy.CUSTOMER_STOP)


def _cause_still_holding(token: Token) -> str:
    """The cause that keeps a token suspended once the stop is lifted ("" none): its card's, then its device's."""
    from kartosfera.cards.states import CardStatus
    from kartosfera.devices.models import DeviceState

    if token.card.status != CardStatus.ACTIVE:
        return SuspendedBy.CARD_BLOCK
    if not token.card.mobile_payments_enabled:
        return SuspendedBy.MOBILE_PAYMENTS_OFF
    if token.app_device is not None and token.app_device.state != DeviceState.ACTIVE:
        return SuspendedBy.DEVICE_BLOCK
    return ""


def customer_tokens_resume(*, actor: Actor, customer_id: int) -> int:
    """Resume exactly the tokens the stop suspended (its lift); returns how many became active.

    A token whose card is blocked or has mobile payments off, or whose BS Pay device is blocked, stays
    suspended, now for that cause, and comes back with it.
    """
    resumed = 0
    for token in _customer_tokens(customer_id, status=TokenStatus.SUSPENDED, suspended_by=SuspendedBy.CUSTOMER_STOP):
        still_held_by = _cause_still_holding(token)
        if still_held_by:
            _recause(actor=actor, token=token, cause=still_held_by)
            continue
        token_transition(
            actor=actor,
            token=token,
            to_status=TokenStatus.ACTIVE,
            command=TokenCommand.RESUME,
            extra={"resumed_with": SuspendedBy.CUSTOMER_STOP},
        )
        resumed += 1
    return resumed


def device_tokens_delete(*, actor: Actor, device: AppDevice) -> int:
    """Delete every BS Pay token on a device blocked for good (it never works again); returns how many."""
    tokens = _device_tokens(device, status__in=[TokenStatus.REQUESTED, TokenStatus.ACTIVE, TokenStatus.SUSPENDED])
    for token in tokens:
        token_transition(actor=actor, token=token, to_status=TokenStatus.DELETED, command=TokenCommand.DELETE)
    return len(tokens)


def card_tokens_delete(*, actor: Actor, card: Card) -> int:
    """Delete every token of a cancelled card (a cancelled card pays no way at all); returns how many."""
    tokens = _card_tokens(card, status__in=[TokenStatus.REQUESTED, TokenStatus.ACTIVE, TokenStatus.SUSPENDED])
    for token in tokens:
        token.card = card
        token_transition(
            actor=actor,
            token=token,
            to_status=TokenStatus.DELETED,
            command=TokenCommand.DELETE,
        )
    return len(tokens)


def card_tokens_follow_status(*, actor: Actor, card: Card, from_status: str, to_status: str) -> None:
    """Bring the card's tokens in step with its new status (called by ``card_transition``, in its transaction)."""
    from kartosfera.cards.states import CardStatus

    if to_status == CardStatus.BLOCKED:
        card_tokens_suspend(actor=actor, card=card, cause=SuspendedBy.CARD_BLOCK)
    elif to_status == CardStatus.ACTIVE and from_status == CardStatus.BLOCKED:
        card_tokens_resume(actor=actor, card=card, cause=SuspendedBy.CARD_BLOCK)
    elif to_status == CardStatus.CANCELLED:
        card_tokens_delete(actor=actor, card=card)


def card_tokens_follow_mobile_payments(*, actor: Actor, card: Card, enabled: bool) -> None:
    """Suspend the card's tokens when mobile payments go off; resume exactly those when they come back on."""
    if enabled:
        card_tokens_resume(actor=actor, card=card, cause=SuspendedBy.MOBILE_PAYMENTS_OFF)
    else:
        card_tokens_suspend(actor=actor, card=card, cause=SuspendedBy.MOBILE_PAYMENTS_OFF)


# --- The token service provider's side (kartosfera/api/tokens.py) ---------------------------------


class ProviderEvent:
    """The lifecycle events the token service provider reports (its wallet's doing)."""

    ACTIVATED = "activated"
    SUSPENDED = "suspended"
    DELETED = "deleted"
    ALL = (ACTIVATED, SUSPENDED, DELETED)


@transaction.atomic
def token_register(
    *,
    actor: Actor,
    card: Card,
    token_reference: str,
    token_last4: str,
    wallet: str,
    device_name: str = "",
    device_type: str = "",
    decision: str = ProvisioningDecision.APPROVED,
    app_device: AppDevice | None = None,
) -> Token:
    """Record a token the provider is about to provision (requested); the same reference again returns it (a retry)."""
    from kartosfera.tokens.states import DeviceType

    existing = (
        Token.objects.select_for_update(of=("self",))
        .select_related("card")
        .filter(token_reference=token_reference)
        .first()
    )
    if existing is not None:
        if existing.card_id != card.pk:
            raise InvalidTransition(_("This token belongs to another card."), code="token_reference_taken")
        return existing
    token = Token(
        card=card,
        token_reference=token_reference,
        token_last4=token_last4,
        wallet=wallet,
        device_name=device_name.strip()[:100],
        device_type=device_type or DeviceType.OTHER,
        app_device=app_device,
        status=TokenStatus.REQUESTED,
        provisioning_decision=decision,
    )
    token.full_clean(exclude=["card"])
    token.save()
    audit_record(
        actor=actor,
        action="tokens.token.requested",
        **_audit_scope(token),
        after={
            **_token_view(token),
            "status": token.status,
            "device_type": token.device_type,
            "provisioning_decision": token.provisioning_decision,
        },
    )
    return token


@transaction.atomic
def token_provider_event(*, actor: Actor, token: Token, event: str) -> Token:
    """Apply a lifecycle event from the provider; idempotent, as the provider retries until it gets an answer.

    ``activated``: a requested token becomes active, unless its card meanwhile stopped allowing it (then it
    is suspended for that cause and the wallet told so); a token the wallet suspended comes back.
    ``suspended``: an active token is suspended by the wallet. ``deleted``: the token is gone for good.
    No command goes back to the provider for its own events.
    """
    from kartosfera.cards.states import CardStatus

    token = _lock(token)
    card = token.card
    if event == ProviderEvent.DELETED:
        if token.status == TokenStatus.DELETED:
            return token
        return token_transition(actor=actor, token=token, to_status=TokenStatus.DELETED)
    if event == ProviderEvent.SUSPENDED:
        if token.status != TokenStatus.ACTIVE:
            return token
        return token_transition(
            actor=actor,
            token=token,
            to_status=TokenStatus.SUSPENDED,
            suspended_by=SuspendedBy.WALLET,
        )
    if event != ProviderEvent.ACTIVATED:
        raise ValueError(f"unknown token event {event!r}")
    if token.status == TokenStatus.REQUESTED:
        if token.provisioning_decision not in {ProvisioningDecision.APPROVED, ProvisioningDecision.VERIFIED}:
            # The holder has not given the SMS code (yet): the wallet must not have activated it.
            raise InvalidTransition(_("The token has not been approved."), code="token_not_approved")

        cause = ""
        if card.status != CardStatus.ACTIVE:
            cause = SuspendedBy.CARD_BLOCK
        elif not card.mobile_payments_enabled:
            cause = SuspendedBy.MOBILE_PAYMENTS_OFF
        elif customer_payments_stopped(card.customer_id):
            # Provisioned while the holder stops everything: it waits, suspended, for the stop's lift.
            cause = SuspendedBy.CUSTOMER_STOP
        token = token_transition(actor=actor, token=token, to_status=TokenStatus.ACTIVE)
        if card.status == CardStatus.CANCELLED:
            return token_transition(
                actor=actor,
                token=token,
                to_status=TokenStatus.DELETED,
                command=TokenCommand.DELETE,
            )
        if cause:
            return token_transition(
                actor=actor,
                token=token,
                to_status=TokenStatus.SUSPENDED,
                suspended_by=cause,
                command=TokenCommand.SUSPEND,
            )
        return token
    if token.status == TokenStatus.SUSPENDED and token.suspended_by == SuspendedBy.WALLET:
        if card.status == CardStatus.ACTIVE and card.mobile_payments_enabled:
            return token_transition(actor=actor, token=token, to_status=TokenStatus.ACTIVE)
        # The wallet brought it back while the card cannot pay with it: it stays suspended, for the card's cause.
        cause = SuspendedBy.CARD_BLOCK if card.status != CardStatus.ACTIVE else SuspendedBy.MOBILE_PAYMENTS_OFF
        token = _recause(actor=actor, token=token, cause=cause)
        _command_queue(token, TokenCommand.SUSPEND)
        token.save(update_fields=["provider_sync", "last_command", "updated_at"])
        return token
    # Active already (a retried event), or deleted, or suspended by someone else: the bank's state stands.
    return token
