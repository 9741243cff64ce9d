"""The cardholder's card operations, written once for the portal, the back office and the APIs.

Each service locks the card, checks the operations table (cards/operations.py)
under the lock, changes the card and writes its audit row in one transaction.
A refusal is audited too (``cards.card.operation_refused``): that row is
written in its own transaction after the operation's has rolled back, since a
row written inside it would roll back with it. (A caller that wraps a service
in its own transaction, like the step-up confirmation, gets the refusal row
rolled back with its transaction; stepup_complete audits its refusals itself.)
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.cards.models import Card
from kartosfera.cards.operations import (
    CardState,
    Operation,
    OperationNotAllowed,
    acts_for_bank,
    block_reason_for,
    cancel_reasons_for,
    card_state,
    require_operation,
)
from kartosfera.cards.pin import (
    PinSameAsOtherPin,
    is_keyed_values,
    newest_value,
    pins_lock_customer,
    value_under_stored_key,
    values_match,
)
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.core.models import ActorType
from kartosfera.secure3d.models import ThreeDSProfile
from kartosfera.tokens.services import card_tokens_follow_mobile_payments

P = ParamSpec("P")
R = TypeVar("R")

BLOCK_NOTE_MAX_LENGTH = 200


def _lock(card: Card) -> Card:
    return Card.objects.select_for_update().select_related("product", "account").get(pk=card.pk)


def _record_refusal(*, actor: Actor, card: Card, operation: str, error: DomainError) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="cards.card.operation_refused",
            obj=card,
            customer_id=card.customer_id,
            after={"operation": operation, "reason": error.code, "message": error.message},
        )


def _audits_refusals(operation: str | Callable[..., str]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the (atomic) service; on a DomainError, audit the refusal in its own transaction and re-raise."""

    def decorator(service: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(service)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return service(*args, **kwargs)
            except DomainError as exc:
                name = operation(**kwargs) if callable(operation) else operation
                _record_refusal(actor=kwargs["actor"], card=kwargs["card"], operation=name, error=exc)  # type: ignore[arg-type]
                raise

        return wrapper

    return decorator


@_audits_refusals(lambda **kwargs: kwargs["operation"])
def card_operation_check(*, actor: Actor, card: Card, operation: str) -> None:
    """Refuse ``operation`` now if the card's state or product forbids it (audited as a refusal).

    Asked before a confirmation code is sent (kartosfera/cards/stepup_operations.py),
    so no SMS goes out for an operation that would be refused; the service asks
    again under the card's lock when it runs.
    """
    require_operation(card, operation, by_bank=acts_for_bank(actor))


@_audits_refusals(Operation.ACTIVATE)
@transaction.atomic
def card_activate(*, actor: Actor, card: Card) -> Card:
    """Activate an inactive card; the card it renews or replaces, if still open, is cancelled with it."""
    card = _lock(card)
    require_operation(card, Operation.ACTIVATE, by_bank=acts_for_bank(actor))
    renewal = card.status_reason == StatusReason.RENEWAL_ISSUED
    card = card_transition(actor=actor, card=card, to_status=CardStatus.ACTIVE, reason=StatusReason.ACTIVATED)
    if card.replaces_id is not None:
        predecessor = Card.objects.select_for_update().get(pk=card.replaces_id)
        if predecessor.status != CardStatus.CANCELLED:
            reason = StatusReason.RENEWED if renewal else StatusReason.REPLACED
            card_transition(actor=actor, card=predecessor, to_status=CardStatus.CANCELLED, reason=reason)
    return card


@_audits_refusals(Operation.BLOCK)
@transaction.atomic
def card_block_temporarily(*, actor: Actor, card: Card, note: str = "") -> Card:
    """Block a card at once (no code: it must always be possible), with an optional short note.

    A block by the bank (staff, the bank's systems) is recorded as the bank's:
    the cardholder cannot lift it, and it does not lapse after 60 days.
    """
    if len(note.strip()) > BLOCK_NOTE_MAX_LENGTH:
        raise ValidationFailed({"note": _("The note can have at most 200 characters.")})
    card = _lock(card)
    require_operation(card, Operation.BLOCK, by_bank=acts_for_bank(actor))
    return card_transition(
        actor=actor,
        card=card,
        to_status=CardStatus.BLOCKED,
        reason=block_reason_for(actor),
        block_note=note,
    )


@_audits_refusals(Operation.UNBLOCK)
@transaction.atomic
def card_unblock(*, actor: Actor, card: Card) -> Card:
    """Lift a temporary block (the portal confirms it with an SMS code first); a bank's block, the bank only."""
    card = _lock(card)
    require_operation(card, Operation.UNBLOCK, by_bank=acts_for_bank(actor))
    return card_transition(actor=actor, card=card, to_status=CardStatus.ACTIVE, reason=StatusReason.UNBLOCKED)


@_audits_refusals(Operation.CANCEL)
@transaction.atomic
def card_cancel(*, actor: Actor, card: Card, reason: str) -> Card:
    """Cancel a card for good (zastrzeżenie): the cardholder with one of their reasons, the bank with its own."""
    if reason not in cancel_reasons_for(actor):
        raise ValidationFailed({"reason": _("Choose the reason for cancelling the card.")})
    card = _lock(card)
    require_operation(card, Operation.CANCEL, by_bank=acts_for_bank(actor))
    return card_transition(actor=actor, card=card, to_status=CardStatus.CANCELLED, reason=reason)


def _contactless_operation(**kwargs: Any) -> str:
    return Operation.CONTACTLESS_ON if kwargs.get("enabled") else Operation.CONTACTLESS_OFF


@_audits_refusals(_contactless_operation)
@transaction.atomic
def card_contactless_set(*, actor: Actor, card: Card, enabled: bool) -> Card:
    """Switch contactless payments on or off (cards whose product supports them only)."""
    card = _lock(card)
    require_operation(
        card, Operation.CONTACTLESS_ON if enabled else Operation.CONTACTLESS_OFF, by_bank=acts_for_bank(actor)
    )
    if card.contactless_enabled == enabled:
        return card
    card.contactless_enabled = enabled
    card.save(update_fields=["contactless_enabled", "updated_at"])
    audit_record(
        actor=actor,
        action="cards.card.contactless_enabled" if enabled else "cards.card.contactless_disabled",
        obj=card,
        customer_id=card.customer_id,
        before={"contactless_enabled": not enabled},
        after={"contactless_enabled": enabled},
    )
    return card


@_audits_refusals(Operation.LIMITS_CHANGE)
@transaction.atomic
def card_limits_change(*, actor: Actor, card: Card, limits: Mapping[str, int]) -> bool:
    """Set the card's daily limits (control name → minor units; cards/controls.py); returns whether any went up.

    A limit not named stays as it is. The rules (0 ≤ each ≤ its maximum, internet ≤ non-cash) are
    the controls' (``CardControls.check``), checked under the card's row lock.
    """
    card = _lock(card)
    require_operation(card, Operation.LIMITS_CHANGE, by_bank=acts_for_bank(actor))
    controls = card.controls
    controls.check(limits)
    raised = controls.raised(limits)
    before = controls.audit_view()
    changed = controls.assign(limits)
    if not changed:
        return False
    after = controls.audit_view()
    card.save(update_fields=[*sorted(changed), "updated_at"])
    audit_record(
        actor=actor,
        action="cards.card.limits_changed",
        obj=card,
        customer_id=card.customer_id,
        before={k: before[k] for k in sorted(changed)},
        after={k: after[k] for k in sorted(changed)},
    )
    return raised


@_audits_refusals(Operation.PIN_CHANGE)
@transaction.atomic
def card_pin_change(*, actor: Actor, card: Card, pvvs: Mapping[str, str], threeds_pvvs: Mapping[str, str]) -> Card:
    """Store a new PIN as its verification value (cards/pin.py, computed before: never the PIN itself).

    ``pvvs``: the new PIN's values under every PIN key (``pin_verification_values``): the newest key's is
    stored, with its key id. ``threeds_pvvs``: the same PIN's values under the customer's 3DS binding, the
    one under the stored 3DS value's key compared with it: a PIN equal to the 3DS PIN is refused
    (PinSameAsOtherPin). Resets the wrong-PIN counter; the audit row says that the PIN changed, never what to.
    """
    if not is_keyed_values(pvvs) or not is_keyed_values(threeds_pvvs):
        raise ValueError("card_pin_change takes the PIN verification values, not a PIN")
    card = _lock(card)
    require_operation(card, Operation.PIN_CHANGE, by_bank=acts_for_bank(actor))
    pins_lock_customer(card.customer_id)
    pvv, key_id = newest_value(pvvs)
    profiles = ThreeDSProfile.objects.filter(customer_id=card.customer_id)
    threeds_stored, threeds_key_id = profiles.values_list("pin_verification_value", "pin_key_id").first() or ("", None)
    threeds_candidate = value_under_stored_key(threeds_pvvs, threeds_key_id) if threeds_stored else None
    if threeds_candidate is not None and values_match(threeds_stored, threeds_candidate):
        raise PinSameAsOtherPin(
            _("The new PIN must be different from your 3-D Secure code. Nothing has been changed: choose another PIN.")
        )
    card.pin_verification_value = pvv
    card.pin_key_id = key_id
    card.pin_changed_at = timezone.now()
    card.wrong_pin_count = 0
    card.save(update_fields=["pin_verification_value", "pin_key_id", "pin_changed_at", "wrong_pin_count", "updated_at"])
    audit_record(actor=actor, action="cards.card.pin_changed", obj=card, customer_id=card.customer_id)
    return card


def _mobile_payments_set(*, actor: Actor, card: Card, operation: str, enabled: bool) -> Card:
    # Locked, allowed by the operation table, idempotent, audited: the one way the switch moves.
    card = _lock(card)
    require_operation(card, operation, by_bank=acts_for_bank(actor))
    if card.mobile_payments_enabled == enabled:
        return card
    card.mobile_payments_enabled = enabled
    card.save(update_fields=["mobile_payments_enabled", "updated_at"])
    audit_record(
        actor=actor,
        action="cards.card.mobile_payments_activated" if enabled else "cards.card.mobile_payments_deactivated",
        obj=card,
        customer_id=card.customer_id,
        before={"mobile_payments_enabled": not enabled},
        after={"mobile_payments_enabled": enabled},
    )
    # Off suspends the card's active tokens; on resumes exactly those (tokens/services.py).
    card_tokens_follow_mobile_payments(actor=actor, card=card, enabled=enabled)
    return card


@_audits_refusals(Operation.MOBILE_PAYMENTS_ACTIVATE)
@transaction.atomic
def card_mobile_payments_activate(*, actor: Actor, card: Card) -> Card:
    """Allow the card in phone wallets and BS Pay (the portal confirms it with an SMS code first)."""
    return _mobile_payments_set(actor=actor, card=card, operation=Operation.MOBILE_PAYMENTS_ACTIVATE, enabled=True)


@_audits_refusals(Operation.MOBILE_PAYMENTS_DEACTIVATE)
@transaction.atomic
def card_mobile_payments_deactivate(*, actor: Actor, card: Card) -> Card:
    """Stop the card's use in phone wallets and BS Pay: no code, as switching something off must always work."""
    return _mobile_payments_set(actor=actor, card=card, operation=Operation.MOBILE_PAYMENTS_DEACTIVATE, enabled=False)


def card_block_expire_due(*, now: dt.datetime | None = None, batch_size: int = 100) -> int:
    """Write down the cancellation (block_expired) of every cardholder's block that has lasted 60 days.

    The cards already count as cancelled (Card.status_now): this makes it
    permanent, dated when the block ran out. Idempotent, and safe with two runs
    at once: each batch skips the rows the other run has locked, and a
    cancelled card is no longer due.
    """
    now = now or timezone.now()
    actor = Actor.system("expire_card_blocks")
    cancelled = 0
    while True:
        with transaction.atomic():
            due = list(Card.objects.select_for_update(skip_locked=True).block_lapsed(now).order_by("pk")[:batch_size])
            for card in due:
                card_transition(
                    actor=actor,
                    card=card,
                    to_status=CardStatus.CANCELLED,
                    reason=StatusReason.BLOCK_EXPIRED,
                    changed_at=card.block_expires_at(),
                    now=now,
                )
        cancelled += len(due)
        if len(due) < batch_size:
            return cancelled


__all__ = [
    "OperationNotAllowed",
    "card_activate",
    "card_block_expire_due",
    "card_block_temporarily",
    "card_cancel",
    "card_contactless_set",
    "card_limits_change",
    "card_mobile_payments_activate",
    "card_mobile_payments_deactivate",
    "card_operation_check",
    "card_pin_change",
    "card_unblock",
]


@_audits_refusals("wrong_pin_reset")
@transaction.atomic
def card_wrong_pin_reset(*, actor: Actor, card: Card) -> Card:
    """Set the wrong-PIN counter back to zero (bank staff, after verifying the cardholder)."""
    if actor.type not in {ActorType.STAFF, ActorType.SYSTEM}:
        raise DomainError(_("Only bank staff can do this."), code="staff_only")
    card = _lock(card)
    if card_state(card) == CardState.CANCELLED:
        raise OperationNotAllowed(_("The card is cancelled: no operation is possible."))
    if card.wrong_pin_count == 0:
        raise DomainError(_("The card has no wrong PIN entries to reset."), code="nothing_to_reset")
    before = {"wrong_pin_count": card.wrong_pin_count}
    card.wrong_pin_count = 0
    card.save(update_fields=["wrong_pin_count", "updated_at"])
    audit_record(
        actor=actor,
        action="cards.card.wrong_pin_reset",
        obj=card,
        customer_id=card.customer_id,
        before=before,
        after={"wrong_pin_count": 0},
    )
    return card
