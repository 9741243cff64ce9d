"""The 3-D Secure operations confirmed with an SMS code (found by kartosfera.sca at start-up)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from kartosfera.cards.pin import PinKeysChanged
from kartosfera.core.audit import Actor
from kartosfera.customers.models import Customer
from kartosfera.sca import stepup
from kartosfera.secure3d.services import (
    MERCHANT_NAME_MAX_LENGTH,
    threeds_exemption_set,
    threeds_pin_set,
    trusted_merchant_add,
)
from kartosfera.users.models import User

if TYPE_CHECKING:
    from kartosfera.cards.models import Card

PIN_SET = "secure3d.pin.set"
EXEMPTION_SET = "secure3d.exemption.set"
MERCHANT_ADD = "secure3d.merchant.add"


def _customer(user: User) -> Customer:
    if user.customer is None:
        raise PermissionDenied
    return user.customer


# A merchant's name is typed by the holder (up to 100 characters); the SMS
# names it by its first 50, more than the 40 EMV 3-D Secure gives a merchant name.
MERCHANT_NAME_IN_SMS = 50


def describe_pin_set(*, payload: Mapping[str, Any], card: Card | None) -> str:
    return _("setting the 3-D Secure code")


def exemption_switched_on(*, payload: Mapping[str, Any], card: Card | None) -> bool:
    """The rule: switching the exemption on lets payments through without the 3DS code, so it needs the SMS code."""
    return bool(payload["enabled"])


def describe_exemption_set(*, payload: Mapping[str, Any], card: Card | None) -> str:
    # Only switching on is ever confirmed with a code (exemption_switched_on).
    return _("switching on the exemption for low-value payments")


def describe_merchant_add(*, payload: Mapping[str, Any], card: Card | None) -> str:
    name = str(payload["name"])
    if len(name) > MERCHANT_NAME_IN_SMS:
        name = name[: MERCHANT_NAME_IN_SMS - 3].rstrip() + "..."
    return _("adding the trusted merchant %(name)s") % {"name": name}


@stepup.register(
    PIN_SET,
    describe=describe_pin_set,
    # "pin_verification_value": the name before the PIN keys became lists (a confirmation from before that).
    secret_keys=("pin_verification_values", "card_pin_values", "pin_verification_value"),
    examples=[{}],
)
def run_pin_set(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    # The payload holds the PIN's keyed values (threeds_pin_values), never the PIN.
    if "pin_verification_values" not in payload or "card_pin_values" not in payload:
        # Asked for before the PIN values carried their keys (a deployment in between): start again.
        raise PinKeysChanged
    threeds_pin_set(
        actor=actor,
        customer=_customer(user),
        pin_verification_values=payload["pin_verification_values"],
        card_pin_values=payload["card_pin_values"],
    )
    return stepup.StepUpResult(message=_("Your 3-D Secure code has been set."))


@stepup.register(
    EXEMPTION_SET, describe=describe_exemption_set, needs_code=exemption_switched_on, examples=[{"enabled": True}]
)
def run_exemption_set(
    *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor
) -> stepup.StepUpResult:
    enabled = bool(payload["enabled"])
    threeds_exemption_set(actor=actor, customer=_customer(user), enabled=enabled)
    if enabled:
        return stepup.StepUpResult(message=_("The exemption for low-value payments is on."))
    return stepup.StepUpResult(
        message=_("The exemption for low-value payments is off: every payment needs the 3-D Secure code.")
    )


@stepup.register(
    MERCHANT_ADD,
    describe=describe_merchant_add,
    # Polish letters and the longest name the form takes: the SMS transliterates and shortens it.
    examples=[{"name": "Żółć " * (MERCHANT_NAME_MAX_LENGTH // 5)}],
)
def run_merchant_add(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    merchant = trusted_merchant_add(
        actor=actor,
        customer=_customer(user),
        name=payload["name"],
        merchant_id=payload["merchant_id"],
        country=payload["country"],
    )
    return stepup.StepUpResult(
        message=_("%(name)s has been added to your trusted merchants.") % {"name": merchant.name},
    )
