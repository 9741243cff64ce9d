"""'Stop everything set': ONE operation whose rule lets stopping run at once and asks the SMS code to lift.

Stopping must work with a lost phone, so it never needs a code (like switching BLIK or mobile payments off);
lifting gives every payment back, so the code confirms it (found by kartosfera.sca at start-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from kartosfera.core.audit import Actor
from kartosfera.customers.models import Customer, StopChannel
from kartosfera.sca import stepup
from kartosfera.sca.stepup import Channel
from kartosfera.stops.services import customer_stop, customer_stop_lift
from kartosfera.users.models import User

if TYPE_CHECKING:
    from kartosfera.cards.models import Card

STOP_SET = "stops.payments.set"
# The stop's channel as the request's payload names it (set by the view or the endpoint, never by the client).
CHANNELS = (StopChannel.PORTAL, StopChannel.APP)


def stop_payload(*, stopped: bool, channel: str) -> dict[str, Any]:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return {"stopped": stopped, "channel": channel}


def _customer(user: User) -> Customer:
    if user.customer is None:
        raise PermissionDenied
    return user.customer


def lifting(*, payload: Mapping[str, Any], card: Card | None) -> bool:
    """The rule: stopping runs at once (a lost phone); lifting gives every payment back, so it needs the code."""
    return not payload["stopped"]


def describe_stop_set(*, payload: Mapping[str, Any], card: Card | None) -> str:
    # Only lifting is ever confirmed with a code (lifting).
    return _("lifting the stop of all your payments")


@stepup.register(
    STOP_SET,
    describe=describe_stop_set,
    needs_code=lifting,
    channels=(Channel.WEB, Channel.APP),
    examples=[{"stopped": False, "channel": StopChannel.PORTAL}],
)
def run_stop_set(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    customer = _customer(user)
    channel = str(payload["channel"])
    if payload["stopped"]:
        customer_stop(actor=actor, customer=customer, channel=channel)
        return stepup.StepUpResult(
            message=_(
                "All your payments are stopped: cards, phone wallets and BLIK. "
                "To lift the stop you will need a code sent by SMS."
            )
        )
    # Whether BLIK comes back (lifted in the app, and the stop had switched it off): read before the lift clears it.
    blik_back = (
        channel == StopChannel.APP and Customer.objects.filter(pk=customer.pk, payments_stop_blik_off=True).exists()
    )
    customer_stop_lift(actor=actor, customer=customer, channel=channel)
    if blik_back:
        return stepup.StepUpResult(message=_("The stop is lifted: your cards, phone wallets and BLIK work again."))
    if channel == StopChannel.APP:
        return stepup.StepUpResult(message=_("The stop is lifted: your cards and phone wallets work again."))
    return stepup.StepUpResult(
        message=_(
            "The stop is lifted: your cards and phone wallets work again. "
            "BLIK stays off: you can switch it on in the BS Pay app."
        )
    )
