"""The holder's BS Pay devices (/bs-pay/): the list, a new device's activation code, blocks and unblocks."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_ratelimit.decorators import ratelimit

from kartosfera.core.audit import Actor
from kartosfera.core.decorators import cardholder_customer, cardholder_required, cardholder_user
from kartosfera.core.errors import DomainError
from kartosfera.devices import selectors, services
from kartosfera.devices.forms import PermanentBlockForm
from kartosfera.devices.models import BlockedBy, DeviceState
from kartosfera.devices.stepup_operations import ACTIVATION_CODE_ISSUE, DEVICE_UNBLOCK
from kartosfera.sca.stepup import stepup_begin
from kartosfera.users.forms import CurrentPasswordForm
from kartosfera.users.ratelimits import REAUTHENTICATION_GROUP, REAUTHENTICATION_RATE


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(cardholder_user(request))


@never_cache
@require_safe
@cardholder_required
def index(request: HttpRequest) -> HttpResponse:
    devices = selectors.device_list_for_customer(customer=cardholder_customer(request))
    activate_form = CurrentPasswordForm(user=cardholder_user(request))
    return render(
        request,
        "devices/index.html",
        {"devices": devices, "states": DeviceState, "activate_form": activate_form},
    )


@sensitive_post_parameters("current_password")
@require_POST
@cardholder_required
@ratelimit(group=REAUTHENTICATION_GROUP, key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)
def activate(request: HttpRequest) -> HttpResponse:
    """A new device's activation code: the password and an SMS code first [ASVS 5.0 7.5.1], then shown once.

    A new device is a new authenticator of the holder: it needs both factors anew, like a new phone number.
    """
    if getattr(request, "limited", False):
        messages.error(request, _("Too many attempts. Wait a while and try again."))
        return redirect("devices:index")
    form = CurrentPasswordForm(request.POST, user=cardholder_user(request))
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form.errors.get("current_password", [])))
        return redirect("devices:index")
    return stepup_begin(request, operation=ACTIVATION_CODE_ISSUE, payload={}, back_url=reverse("devices:index"))


@never_cache
@require_safe
@cardholder_required
def activation_code(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The code, the first time this page is opened; afterwards only that it was shown."""
    activation = selectors.activation_code_get_for_customer(customer=cardholder_customer(request), public_id=public_id)
    # An expired code is never shown (nor marked as shown): it could activate nothing.
    expired = activation.is_expired()
    code = None if expired else services.device_activation_code_reveal(actor=_actor(request), activation=activation)
    return render(request, "devices/activation_code.html", {"activation": activation, "code": code})


@require_POST
@cardholder_required
def block(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Block at once, with no code: it must work when the phone is lost."""
    device = selectors.device_get_for_customer(customer=cardholder_customer(request), public_id=public_id)
    try:
        services.device_block_temporarily(actor=_actor(request), device=device)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("%(name)s is temporarily blocked: the BS Pay app does not work on it.") % {"name": device.name}
        )
    return redirect("devices:index")


@require_POST
@cardholder_required
def unblock(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    device = selectors.device_get_for_customer(customer=cardholder_customer(request), public_id=public_id)
    if not device.can_become(DeviceState.ACTIVE) or device.blocked_by == BlockedBy.BANK:
        messages.error(request, _("This device cannot be unblocked here."))
        return redirect("devices:index")
    return stepup_begin(
        request,
        operation=DEVICE_UNBLOCK,
        payload={"device": str(device.public_id), "name": device.name},
        back_url=reverse("devices:index"),
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@cardholder_required
def block_permanently(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Block for good, with no code but with an explicit confirmation."""
    device = selectors.device_get_for_customer(customer=cardholder_customer(request), public_id=public_id)
    if not device.can_become(DeviceState.BLOCKED_PERMANENTLY):
        messages.error(request, _("This device is already blocked for good."))
        return redirect("devices:index")
    form = PermanentBlockForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.device_block_permanently(actor=_actor(request), device=device)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(name)s is blocked for good.") % {"name": device.name})
        return redirect("devices:index")
    return render(request, "devices/block_permanently.html", {"device": device, "form": form})
