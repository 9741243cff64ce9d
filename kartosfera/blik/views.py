"""The holder's BLIK page: its state and history, and the switch that turns it off at once."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from kartosfera.blik.models import BlikChannel
from kartosfera.blik.selectors import blik_state
from kartosfera.blik.services import blik_switch_off
from kartosfera.core.audit import Actor
from kartosfera.core.decorators import cardholder_customer, cardholder_required, cardholder_user


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@cardholder_required
def blik(request: HttpRequest) -> HttpResponse:
    """GET: BLIK's state and its changes. POST: switch it off, with no code (a kill switch for a lost phone)."""
    customer = cardholder_customer(request)
    if request.method == "POST":
        blik_switch_off(actor=Actor.for_user(cardholder_user(request)), customer=customer, channel=BlikChannel.PORTAL)
        messages.success(request, _("BLIK is switched off. You can switch it on again only in the BS Pay app."))
        return redirect("blik:index")
    return render(request, "blik/index.html", {"state": blik_state(customer)})
