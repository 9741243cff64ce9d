"""The card operations confirmed with an SMS code, and the rule of which request needs one (found by kartosfera.sca).

Activation, unblocking, raising a limit, a new PIN and switching mobile
payments on change money flow or security, so each waits for the code; the
SMS names the operation and the card (dynamic linking). Lowering a limit and
switching mobile payments off are the same operations asked for with a payload
that needs no code (``needs_code``): they run at once, in the portal and in the
BS Pay app alike. Blocking and cancelling need no code and are not step-up
operations at all (see docs/card-operations.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.cards.controls import FINE_SWITCHES, amount_limits, control, count_limits
from kartosfera.cards.controls_services import (
    TEMPORARY_RAISE_MINUTES,
    ControlSettings,
    card_controls_change,
    card_limits_raise_temporarily,
    control_settings_of,
    loosened,
    temporary_raise_clean,
)
from kartosfera.cards.operations import Operation
from kartosfera.cards.operations_services import (
    card_activate,
    card_limits_change,
    card_mobile_payments_activate,
    card_mobile_payments_deactivate,
    card_operation_check,
    card_pin_change,
    card_unblock,
)
from kartosfera.cards.pin import PinKeysChanged
from kartosfera.core.audit import Actor
from kartosfera.core.money import Money
from kartosfera.sca import stepup
from kartosfera.sca.stepup import Channel
from kartosfera.users.models import User

if TYPE_CHECKING:
    from kartosfera.cards.models import Card

CARD_ACTIVATE = "cards.card.activate"
CARD_UNBLOCK = "cards.card.unblock"
CARD_LIMITS_CHANGE = "cards.card.limits_change"
CARD_PIN_CHANGE = "cards.card.pin_change"
CARD_MOBILE_PAYMENTS_SET = "cards.card.mobile_payments_set"
# Where the holder may ask for them: the portal and the BS Pay app. A new PIN
# only in the portal: the app has no PIN pad of the bank's, and a PIN must not
# travel through one more client.
BOTH = (Channel.WEB, Channel.APP)
# The new PIN travels as its keyed verification values (cards/pin.py: one per PIN key), never the
# PIN; even they are wiped from the stored payload when the confirmation ends.
PIN_PAYLOAD_KEY = "pin_verification_values"
# The same new PIN under the customer's 3DS binding: compared with the 3DS PIN.
THREEDS_PAYLOAD_KEY = "threeds_pin_verification_values"


# The largest daily limit a realistic product allows is below a million; the
# SMS test renders the limits with this one (docs/sms.md).
LONGEST_LIMIT_MINOR = 999_999_99


def limits_change_payload(card: Card, limits: Mapping[str, int]) -> dict[str, int]:
    """What a limits change asks for: each limit's new value (``<name>_minor``) and its value before.

    Checked first (ValidationFailed names the field): a change the card would
    refuse never costs an SMS.
    """
    card.controls.check(limits)
    current = card.controls.limits_minor()
    new = card.controls.merged(limits)
    return {
        **{f"{name}_minor": value for name, value in new.items()},
        **{f"{name}_before_minor": value for name, value in current.items()},
    }


def _allowed(operation: str | Callable[[Mapping[str, Any]], str]) -> stepup.Check:
    """The card's operation table, asked before a code is sent (the service asks again under its lock)."""

    def check(*, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> None:
        name = operation(payload) if callable(operation) else operation
        card_operation_check(actor=actor, card=_card(card), operation=name)

    return check


def _mobile_payments_operation(payload: Mapping[str, Any]) -> str:
    return Operation.MOBILE_PAYMENTS_ACTIVATE if payload["enabled"] else Operation.MOBILE_PAYMENTS_DEACTIVATE


def limits_go_up(*, payload: Mapping[str, Any], card: Card | None) -> bool:
    """The rule: a limits change needs the code when any limit goes up; lowering never does [PRODUCT.md]."""
    return any(
        payload[f"{d.name}_minor"] > payload[f"{d.name}_before_minor"]
        for d in amount_limits()
        if f"{d.name}_minor" in payload
    )


def mobile_payments_switched_on(*, payload: Mapping[str, Any], card: Card | None) -> bool:
    """The rule: switching mobile payments on needs the code (unless already on); off never does."""
    return bool(payload["enabled"]) and not _card(card).mobile_payments_enabled


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


def describe_limits_change(*, payload: Mapping[str, Any], card: Card | None) -> str:
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


def describe_mobile_payments_set(*, payload: Mapping[str, Any], card: Card | None) -> str:
    # Only switching on is ever confirmed with a code (mobile_payments_switched_on).
    return _("activation of mobile payments of card %(card)s") % {"card": stepup.card_label(_card(card))}


@stepup.register(
    CARD_ACTIVATE, describe=describe_activate, check=_allowed(Operation.ACTIVATE), channels=BOTH, examples=[{}]
)
def run_activate(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    card_activate(actor=actor, card=_card(card))
    return stepup.StepUpResult(message=_("The card is active. You can use it now."))


@stepup.register(
    CARD_UNBLOCK, describe=describe_unblock, check=_allowed(Operation.UNBLOCK), channels=BOTH, examples=[{}]
)
def run_unblock(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    card_unblock(actor=actor, card=_card(card))
    return stepup.StepUpResult(message=_("The card is unblocked."))


@stepup.register(
    CARD_LIMITS_CHANGE,
    describe=describe_limits_change,
    needs_code=limits_go_up,
    check=_allowed(Operation.LIMITS_CHANGE),
    channels=BOTH,
    examples=_longest_examples(),
)
def run_limits_change(
    *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor
) -> stepup.StepUpResult:
    # What the code confirmed is exactly what runs: the limits stored with the challenge.
    card_limits_change(actor=actor, card=_card(card), limits=_payload_limits(payload))
    return stepup.StepUpResult(message=_("The card's limits have been changed."))


@stepup.register(
    CARD_PIN_CHANGE,
    describe=describe_pin_change,
    check=_allowed(Operation.PIN_CHANGE),
    # The names before the PIN keys became lists too: a confirmation asked for before that deployment still
    # carries them, and they must be wiped like the others.
    secret_keys=(PIN_PAYLOAD_KEY, THREEDS_PAYLOAD_KEY, "pin_verification_value", "threeds_pin_verification_value"),
    examples=[{}],
)
def run_pin_change(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    if PIN_PAYLOAD_KEY not in payload or THREEDS_PAYLOAD_KEY not in payload:
        # Asked for before the PIN values carried their keys (a deployment in between): start again.
        raise PinKeysChanged
    card_pin_change(
        actor=actor, card=_card(card), pvvs=payload[PIN_PAYLOAD_KEY], threeds_pvvs=payload[THREEDS_PAYLOAD_KEY]
    )
    return stepup.StepUpResult(message=_("The PIN has been changed. Use the new PIN from now on."))


@stepup.register(
    CARD_MOBILE_PAYMENTS_SET,
    describe=describe_mobile_payments_set,
    needs_code=mobile_payments_switched_on,
    check=_allowed(_mobile_payments_operation),
    channels=BOTH,
    examples=[{"enabled": True}],
)
def run_mobile_payments_set(
    *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor
) -> stepup.StepUpResult:
    if payload["enabled"]:
        card_mobile_payments_activate(actor=actor, card=_card(card))
        return stepup.StepUpResult(
            message=_("Mobile payments are active: you can add the card to a phone wallet or BS Pay.")
        )
    card_mobile_payments_deactivate(actor=actor, card=_card(card))
    return stepup.StepUpResult(message=_("Mobile payments are switched off for this card."))


# --- The finer controls and the temporary raise (docs/controls.md) ----------------------------------

CARD_CONTROLS_CHANGE = "cards.card.controls_change"
CARD_LIMITS_RAISE_TEMPORARY = "cards.card.limits_raise_temporary"

# How an SMS names what a controls change loosens (short: several may share one SMS).
_LOOSENED_NAMES: dict[str, Any] = {
    "atm": gettext_lazy("ATM withdrawals"),
    "online": gettext_lazy("internet payments"),
    "magstripe": gettext_lazy("magnetic stripe"),
    "abroad": gettext_lazy("payments abroad"),
    "moto": gettext_lazy("mail and telephone orders"),
    "atm_count": gettext_lazy("more ATM withdrawals"),
    "pos_count": gettext_lazy("more payments at terminals"),
    "online_count": gettext_lazy("more internet payments"),
    "countries": gettext_lazy("more countries"),
}
# The SMS lists the loosened controls up to about this many characters, then "(+n)".
_CHANGES_IN_SMS = 60


def controls_change_payload(card: Card, settings: ControlSettings) -> dict[str, Any]:
    """What a controls change asks for: the settings wanted and the card's as they stand (the rule compares them)."""
    return {"settings": settings.as_payload(), "before": control_settings_of(card).as_payload()}


def _loosened(payload: Mapping[str, Any]) -> list[str]:
    return loosened(ControlSettings.from_payload(payload["before"]), ControlSettings.from_payload(payload["settings"]))


def controls_loosened(*, payload: Mapping[str, Any], card: Card | None) -> bool:
    """The rule: a change that loosens any control needs the code; tightening never does."""
    return bool(_loosened(payload))


def _loosened_name(name: str) -> str:
    from kartosfera.cards.merchant_categories import blockable_category, blockable_keys

    if name in blockable_keys():
        return str(blockable_category(name).label).lower()
    return str(_LOOSENED_NAMES[name])


def describe_controls_change(*, payload: Mapping[str, Any], card: Card | None) -> str:
    names = [_loosened_name(name) for name in _loosened(payload)]
    shown: list[str] = []
    for name in names:
        if shown and len(", ".join([*shown, name])) > _CHANGES_IN_SMS:
            break
        shown.append(name)
    changes = ", ".join(shown)
    if len(shown) < len(names):
        changes += f" (+{len(names) - len(shown)})"
    return _("switching on for card %(card)s: %(changes)s") % {
        "card": stepup.card_label(_card(card)),
        "changes": changes,
    }


def _every_control_loosened() -> dict[str, Any]:
    from kartosfera.cards.merchant_categories import blockable_keys

    tight = ControlSettings(
        switches=dict.fromkeys(FINE_SWITCHES, False),
        count_limits={d.name: 0 for d in count_limits()},
        blocked_categories=tuple(blockable_keys()),
        country_rule="allow",
        countries=("PL",),
    )
    loose = ControlSettings(
        switches=dict.fromkeys(FINE_SWITCHES, True),
        count_limits={d.name: None for d in count_limits()},
        blocked_categories=(),
        country_rule="none",
        countries=(),
    )
    return {"settings": loose.as_payload(), "before": tight.as_payload()}


@stepup.register(
    CARD_CONTROLS_CHANGE,
    describe=describe_controls_change,
    needs_code=controls_loosened,
    check=_allowed(Operation.CONTROLS_CHANGE),
    channels=BOTH,
    examples=[_every_control_loosened()],
)
def run_controls_change(
    *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor
) -> stepup.StepUpResult:
    # What the code confirmed is exactly what runs: the settings stored with the challenge.
    card = card_controls_change(
        actor=actor, card=_card(card), settings=ControlSettings.from_payload(payload["settings"])
    )
    lifting = [key for key, lifts in card.category_blocks.items() if lifts]
    if lifting:
        return stepup.StepUpResult(
            message=_(
                "The card's controls have been changed. Gambling stays blocked for 48 hours more: the cooling-off "
                "period protects a decision taken in a calm moment."
            )
        )
    return stepup.StepUpResult(message=_("The card's controls have been changed."))


def duration_text(minutes: int) -> str:
    """A raise's duration in short words: "10 min", "2 h", "1 h 30 min"."""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
    if hours:
        return _("%(hours)s h") % {"hours": hours}
    return _("%(minutes)s min") % {"minutes": rest}


def describe_limits_raise_temporary(*, payload: Mapping[str, Any], card: Card | None) -> str:
    card = _card(card)
    limits = ", ".join(
        str(control(name).sms_part) % {"amount": Money(value, card.product.currency).format(sms=True)}
        for name, value in payload["limits"].items()
    )
    # "for 2 h" says it is temporary: the word itself would not fit one SMS with three limits.
    return _("limits of card %(card)s for %(duration)s: %(limits)s") % {
        "card": stepup.card_label(card),
        "duration": duration_text(payload["minutes"]),
        "limits": limits,
    }


def limits_raise_temporary_payload(card: Card, *, limits: Mapping[str, int], minutes: int) -> dict[str, Any]:
    """What a temporary raise asks for, checked first: the limits kept (those above the card's own) and how long."""
    return {"limits": temporary_raise_clean(card, limits=limits, minutes=minutes), "minutes": int(minutes)}


@stepup.register(
    CARD_LIMITS_RAISE_TEMPORARY,
    describe=describe_limits_raise_temporary,
    check=_allowed(Operation.LIMITS_CHANGE),
    channels=BOTH,
    examples=[
        {"limits": {d.name: LONGEST_LIMIT_MINOR for d in amount_limits()}, "minutes": minutes}
        for minutes in TEMPORARY_RAISE_MINUTES
    ],
)
def run_limits_raise_temporary(
    *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor
) -> stepup.StepUpResult:
    card = card_limits_raise_temporarily(
        actor=actor, card=_card(card), limits=payload["limits"], minutes=int(payload["minutes"])
    )
    until = card.temporary_limits_until
    assert until is not None
    return stepup.StepUpResult(
        message=_("The limits are raised until %(time)s; then they fall back by themselves.")
        % {"time": formats.time_format(timezone.localtime(until), "H:i")}
    )
