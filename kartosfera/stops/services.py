"""'Stop everything': one switch per customer that stops every card, token and BLIK payment at once.

docs/stop-everything.md. Stopping runs at once from any channel (no code: it must work with a lost phone);
lifting is confirmed with an SMS code by the holder (kartosfera/stops/stepup_operations.py) or done at a
branch after the person's identity document (the back office). Both lock the customer's row first, then
BLIK's and the tokens' rows (the order everywhere here: no deadlocks), and write their audit row in the same
transaction. The card core reads the stop with the card (processing/rows.py): no service touches the cards.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.blik.models import BlikChannel, BlikService
from kartosfera.blik.services import blik_switch_off, blik_switch_on
from kartosfera.core.audit import Actor, ActorType, audit_record
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.customers.models import Customer, StopChannel
from kartosfera.customers.selectors import customer_payments_stopped
from kartosfera.tokens.services import customer_tokens_resume, customer_tokens_suspend

REASON_MAX_LENGTH = 200
# The BLIK history's detail of a change the stop made (blik/models.py BlikChange.detail).
BLIK_DETAIL_STOP = "stop everything"
BLIK_DETAIL_LIFT = "stop everything lifted"

# The BLIK channel a stop's change is recorded under: the same place the stop was asked from.
_BLIK_CHANNEL: dict[str, str] = {
    StopChannel.PORTAL: BlikChannel.PORTAL,
    StopChannel.APP: BlikChannel.APP,
    StopChannel.BACK_OFFICE: BlikChannel.BACK_OFFICE,
}


class PaymentsAlreadyStopped(DomainError):
    default_message = _("All payments are already stopped.")
    code = "already_stopped"


class PaymentsNotStopped(DomainError):
    default_message = _("Payments are not stopped.")
    code = "not_stopped"


def _locked(customer: Customer) -> Customer:
    return Customer.objects.select_for_update().get(pk=customer.pk)


def _clean_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed({"reason": str(_("The reason can have at most 200 characters."))})
    return reason


def _stop_view(customer: Customer) -> dict[str, object]:
    return {
        "stopped": customer.payments_stopped,
        "channel": customer.payments_stop_channel,
        "stopped_at": customer.payments_stopped_at.isoformat() if customer.payments_stopped_at else None,
    }


@transaction.atomic
def customer_stop(*, actor: Actor, customer: Customer, channel: str, reason: str = "") -> Customer:
    """Stop every payment of the customer at once: the card core declines every card (and so every token),
    the token service provider is told to suspend the active tokens, BLIK is switched off.

    ``channel``: where it was asked (StopChannel). ``reason``: the bank's (required in the back office).
    """
    if channel not in StopChannel.values:
        raise ValueError(f"unknown channel {channel!r}")
    reason = _clean_reason(reason)
    if channel == StopChannel.BACK_OFFICE and not reason:
        raise ValidationFailed({"reason": str(_("Give the reason."))})
    customer = _locked(customer)
    if customer.payments_stopped:
        raise PaymentsAlreadyStopped()
    before = _stop_view(customer)
    # Locked (the order: the customer, then BLIK's row, as blik_switch_off takes it): a switch-on racing the stop
    # is either seen here or waits and is switched off.
    blik = BlikService.objects.select_for_update().filter(customer=customer).first()
    # A customer without a BLIK row has BLIK on (the row's default): switching off creates it.
    blik_was_on = blik is None or blik.enabled
    customer.payments_stopped_at = timezone.now()
    customer.payments_stop_channel = channel
    customer.payments_stopped_by = actor.id if actor.type == ActorType.STAFF else ""
    customer.payments_stop_reason = reason
    customer.payments_stop_blik_off = blik_was_on
    customer.save(
        update_fields=[
            "payments_stopped_at",
            "payments_stop_channel",
            "payments_stopped_by",
            "payments_stop_reason",
            "payments_stop_blik_off",
            "updated_at",
        ]
    )
    tokens = customer_tokens_suspend(actor=actor, customer_id=customer.pk)
    if blik_was_on:
        # Through BLIK's own path, so that the bank's BLIK system learns it (the sync outbox).
        blik_switch_off(actor=actor, customer=customer, channel=_BLIK_CHANNEL[channel], detail=BLIK_DETAIL_STOP)
    audit_record(
        actor=actor,
        action="stops.payments.stopped",
        obj=customer,
        customer_id=customer.pk,
        before=before,
        after={**_stop_view(customer), "tokens_suspended": tokens, "blik_switched_off": blik_was_on, "reason": reason},
    )
    return customer


@transaction.atomic
def customer_stop_lift(*, actor: Actor, customer: Customer, channel: str, reason: str = "") -> Customer:
    """Lift the stop: the cards pay again and the tokens the stop suspended resume.

    Only the holder with an SMS code (stepup_operations.py) or a branch after the person's identity document
    (the back office, with a reason) calls this. BLIK comes back only when lifted in the BS Pay app and only if
    the stop switched it off: BLIK is switched on only from the app (blik/services.py).
    """
    if channel not in StopChannel.values:
        raise ValueError(f"unknown channel {channel!r}")
    reason = _clean_reason(reason)
    if channel == StopChannel.BACK_OFFICE and not reason:
        raise ValidationFailed({"reason": str(_("Give the reason."))})
    customer = _locked(customer)
    if not customer.payments_stopped:
        raise PaymentsNotStopped()
    before = _stop_view(customer)
    blik_back = channel == StopChannel.APP and customer.payments_stop_blik_off
    customer.payments_stopped_at = None
    customer.payments_stop_channel = ""
    customer.payments_stopped_by = ""
    customer.payments_stop_reason = ""
    customer.payments_stop_blik_off = False
    customer.save(
        update_fields=[
            "payments_stopped_at",
            "payments_stop_channel",
            "payments_stopped_by",
            "payments_stop_reason",
            "payments_stop_blik_off",
            "updated_at",
        ]
    )
    tokens = customer_tokens_resume(actor=actor, customer_id=customer.pk)
    if blik_back:
        blik_switch_on(actor=actor, customer=customer, channel=BlikChannel.APP, detail=BLIK_DETAIL_LIFT)
    audit_record(
        actor=actor,
        action="stops.payments.stop_lifted",
        obj=customer,
        customer_id=customer.pk,
        before=before,
        after={
            **_stop_view(customer),
            "lifted_channel": channel,
            "tokens_resumed": tokens,
            "blik_switched_on": blik_back,
            "reason": reason,
        },
    )
    return customer


def customer_stop_lift_check(*, customer: Customer) -> None:
    """Raise PaymentsNotStopped unless there is a stop to lift (asked before a code is sent, and again)."""
    if not customer_payments_stopped(customer.pk):
        raise PaymentsNotStopped()
