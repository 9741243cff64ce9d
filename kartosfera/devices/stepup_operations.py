"""The BS Pay device operations confirmed with an SMS code (found by kartosfera.sca at start-up)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import gettext as _

from kartosfera.core.audit import Actor
from kartosfera.customers.models import Customer
from kartosfera.devices.selectors import device_get_for_customer
from kartosfera.devices.services import device_activation_code_issue, device_unblock
from kartosfera.sca import stepup
from kartosfera.users.models import User

if TYPE_CHECKING:
    from kartosfera.cards.models import Card

ACTIVATION_CODE_ISSUE = "devices.activation_code.issue"
DEVICE_UNBLOCK = "devices.device.unblock"
# The longest name a device can have (services.DEVICE_NAME_MAX_LENGTH): the SMS shortens it.
NAME_IN_SMS = 30


def _customer(user: User) -> Customer:
    if user.customer is None:
        raise PermissionDenied
    return user.customer


def describe_activation_code_issue(*, payload: Mapping[str, Any], card: Card | None) -> str:
    return _("activation of a new BS Pay device")


def describe_unblock(*, payload: Mapping[str, Any], card: Card | None) -> str:
    name = str(payload.get("name", ""))
    if len(name) > NAME_IN_SMS:
        name = name[: NAME_IN_SMS - 3].rstrip() + "..."
    return _("unblocking the BS Pay device %(name)s") % {"name": name}


@stepup.register(ACTIVATION_CODE_ISSUE, describe=describe_activation_code_issue, examples=[{}])
def run_activation_code_issue(
    *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor
) -> stepup.StepUpResult:
    activation = device_activation_code_issue(actor=actor, customer=_customer(user))
    # The code is shown once, on the page this leads to (devices:activation_code).
    return stepup.StepUpResult(
        web_path=reverse("devices:activation_code", kwargs={"public_id": activation.public_id}),
        message=_("Enter this code in the BS Pay app."),
    )


@stepup.register(DEVICE_UNBLOCK, describe=describe_unblock, examples=[{"device": "x", "name": "Żółć " * 13}])
def run_unblock(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    device = device_get_for_customer(customer=_customer(user), public_id=payload["device"])
    device_unblock(actor=actor, device=device)
    return stepup.StepUpResult(
        message=_("%(name)s is unblocked: the BS Pay app works on it again.") % {"name": device.name},
    )
