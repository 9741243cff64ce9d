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
from django.utils.translation import pgettext

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
_LIMIT_FIELDS = [
    f"{channel}_{suffix}" for channel in ("cash", "noncash", "internet") for suffix in ("minor", "before_minor")
]


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
        channel: Money(payload[f"{channel}_minor"], card.product.currency).format(sms=True)
        for channel in ("cash", "noncash", "internet")
        if payload[f"{channel}_minor"] != payload[f"{channel}_before_minor"]
    }
    if len(changes) == 1:
        [(channel, amount)] = changes.items()
        one = {
            "cash": _("change of the cash limit of card %(card)s to %(amount)s"),
            "noncash": _("change of the non-cash limit of card %(card)s to %(amount)s"),
            "internet": _("change of the internet limit of card %(card)s to %(amount)s"),
        }
        return one[channel] % {"card": label, "amount": amount}
    # Several at once, in one short sentence: three full clauses would not fit one SMS.
    parts = {
        "cash": pgettext("new limits of a card", "cash %(amount)s"),
        "noncash": pgettext("new limits of a card", "non-cash %(amount)s"),
        "internet": pgettext("new limits of a card", "internet %(amount)s"),
    }
    limits = ", ".join(parts[channel] % {"amount": amount} for channel, amount in changes.items())
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
    examples=[
        # Every limit raised at once to the largest amount, and each one alone.
        {
            field: LONGEST_LIMIT_MINOR if field.endswith("_minor") and "before" not in field else 0
            for field in _LIMIT_FIELDS
        },
        *(
            {field: LONGEST_LIMIT_MINOR if field == f"{channel}_minor" else 0 for field in _LIMIT_FIELDS}
            for channel in ("cash", "noncash", "internet")
        ),
    ],
)
def run_limits_raise(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    # What the code confirmed is exactly what runs: the limits stored with the challenge.
    card_limits_change(
        actor=actor,
        card=_card(card),
        cash_minor=payload["cash_minor"],
        noncash_minor=payload["noncash_minor"],
        internet_minor=payload["internet_minor"],
    )
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
