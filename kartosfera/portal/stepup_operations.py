"""The card operations confirmed with an SMS code (found by kartosfera.sca at start-up).

Activation, unblocking, raising a limit, a new PIN and mobile payments change
money flow or security, so each waits
for the code; the SMS names the operation and the card (dynamic linking).
Blocking, cancelling and lowering a limit need no code (see docs/card-operations.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils.translation import gettext as _

from kartosfera.cards.controls import amount_limits, control
from kartosfera.cards.operations_services import (
    card_activate,
    card_limits_change,
    card_mobile_payments_activate,
    card_pin_change,
    card_unblock,
)
from kartosfera.core.audit import Actor
from kartosfera.core.money import Money
from kartosfera.sca import stepup
from kartosfera.users.models import User

if TYPE_CHECKING:
    from kartosfera.cards.models import Card

CARD_ACTIVATE = "cards.card.activate"
CARD_UNBLOCK = "cards.card.unblock"
CARD_LIMITS_RAISE = "cards.card.limits_raise"
CARD_PIN_CHANGE = "cards.card.pin_change"
CARD_MOBILE_PAYMENTS_ACTIVATE = "cards.card.mobile_payments_activate"
# The new PIN travels as its keyed verification value (cards/pin.py), never the
# PIN; even that is wiped from the stored payload when the confirmation ends.
PIN_PAYLOAD_KEY = "pin_verification_value"
# The same new PIN under the customer's 3DS binding: compared with the 3DS PIN.
THREEDS_PAYLOAD_KEY = "threeds_pin_verification_value"


# The largest daily limit a realistic product allows is below a million; the
# SMS test renders the limits with this one (docs/sms.md).
LONGEST_LIMIT_MINOR = 999_999_99


def limits_raise_payload(card: Card, limits: Mapping[str, int]) -> dict[str, int]:
    """What the SMS code confirms: each limit's new value (``<name>_minor``) and its value before."""
    current = card.controls.limits_minor()
    new = card.controls.merged(limits)
    return {
        **{f"{name}_minor": value for name, value in new.items()},
        **{f"{name}_before_minor": value for name, value in current.items()},
    }


def _payload_limits(payload: Mapping[str, Any]) -> dict[str, int]:
    # A limit a challenge started before it was registered did not confirm stays as it is.
    return {d.name: payload[f"{d.name}_minor"] for d in amount_limits() if f"{d.name}_minor" in payload}


def _longest_examples() -> list[dict[str, int]]:
    # Every limit raised at once to the largest amount, and each one alone (the SMS length test).
    names = [d.name for d in amount_limits()]

    def example(raised: set[str]) -> dict[str, int]:
        return {
            **{f"{n}_minor": LONGEST_LIMIT_MINOR if n in raised else 0 for n in names},
            **{f"{n}_before_minor": 0 for n in names},
        }

    return [example(set(names)), *(example({n}) for n in names)]


def _card(card: Card | None) -> Card:
    if card is None:  # every card operation is started with its card
        raise ValueError("a card operation needs its card")
    return card


def describe_activate(*, payload: Mapping[str, Any], card: Card | None) -> str:
    return _("activation of card %(card)s") % {"card": stepup.card_label(_card(card))}


def describe_unblock(*, payload: Mapping[str, Any], card: Card | None) -> str:
    return _("unblocking of card %(card)s") % {"card": stepup.card_label(_card(card))}


def describe_limits_raise(*, payload: Mapping[str, Any], card: Card | None) -> str:
    card = _card(card)
    label = stepup.card_label(card)
    # Amounts as the SMS writes them: the page quotes the SMS word for word.
    changes = {
        d.name: Money(payload[f"{d.name}_minor"], card.product.currency).format(sms=True)
        for d in amount_limits()
        if f"{d.name}_minor" in payload and payload[f"{d.name}_minor"] != payload[f"{d.name}_before_minor"]
    }
    if len(changes) == 1:
        [(name, amount)] = changes.items()
        return str(control(name).sms_change) % {"card": label, "amount": amount}
    # Several at once, in one short sentence: three full clauses would not fit one SMS.
    limits = ", ".join(str(control(name).sms_part) % {"amount": amount} for name, amount in changes.items())
    return _("new limits of card %(card)s: %(limits)s") % {"card": label, "limits": limits}


def describe_pin_change(*, payload: Mapping[str, Any], card: Card | None) -> str:
    return _("change of the PIN of card %(card)s") % {"card": stepup.card_label(_card(card))}


def describe_mobile_payments_activate(*, payload: Mapping[str, Any], card: Card | None) -> str:
    return _("activation of mobile payments of card %(card)s") % {"card": stepup.card_label(_card(card))}


def _detail(card: Card | None) -> str:
    return reverse("portal:card_detail", kwargs={"card_id": _card(card).pk})


@stepup.register(CARD_ACTIVATE, describe=describe_activate, examples=[{}])
def run_activate(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    card_activate(actor=actor, card=_card(card))
    return stepup.StepUpResult(redirect_to=_detail(card), message=_("The card is active. You can use it now."))


@stepup.register(CARD_UNBLOCK, describe=describe_unblock, examples=[{}])
def run_unblock(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    card_unblock(actor=actor, card=_card(card))
    return stepup.StepUpResult(redirect_to=_detail(card), message=_("The card is unblocked."))


@stepup.register(
    CARD_LIMITS_RAISE,
    describe=describe_limits_raise,
    examples=_longest_examples(),
)
def run_limits_raise(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    # What the code confirmed is exactly what runs: the limits stored with the challenge.
    card_limits_change(actor=actor, card=_card(card), limits=_payload_limits(payload))
    return stepup.StepUpResult(redirect_to=_detail(card), message=_("The card's limits have been changed."))


@stepup.register(
    CARD_PIN_CHANGE, describe=describe_pin_change, secret_keys=(PIN_PAYLOAD_KEY, THREEDS_PAYLOAD_KEY), examples=[{}]
)
def run_pin_change(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    card_pin_change(
        actor=actor, card=_card(card), pvv=payload[PIN_PAYLOAD_KEY], threeds_pvv=payload[THREEDS_PAYLOAD_KEY]
    )
    return stepup.StepUpResult(
        redirect_to=_detail(card), message=_("The PIN has been changed. Use the new PIN from now on.")
    )


@stepup.register(CARD_MOBILE_PAYMENTS_ACTIVATE, describe=describe_mobile_payments_activate, examples=[{}])
def run_mobile_payments_activate(
    *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor
) -> stepup.StepUpResult:
    card_mobile_payments_activate(actor=actor, card=_card(card))
    return stepup.StepUpResult(
        redirect_to=_detail(card),
        message=_("Mobile payments are active: you can add the card to a phone wallet or BS Pay."),
    )
