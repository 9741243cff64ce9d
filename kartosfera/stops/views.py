"""The holder's "stop everything" page: the state, the switch that stops at once, the lift with an SMS code."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from kartosfera.core.decorators import cardholder_customer, cardholder_required
from kartosfera.core.errors import DomainError
from kartosfera.customers.models import StopChannel
from kartosfera.sca.stepup import stepup_begin
from kartosfera.stops.services import customer_stop_lift_check
from kartosfera.stops.stepup_operations import STOP_SET, stop_payload


class StopForm(forms.Form):
    action = forms.ChoiceField(choices=[("stop", "stop"), ("lift", "lift")])


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@cardholder_required
def index(request: HttpRequest) -> HttpResponse:
    """GET: whether everything is stopped. POST stop: at once, no code (a lost phone). POST lift: the SMS code."""
    customer = cardholder_customer(request)
    if request.method == "POST":
        form = StopForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose whether to stop all payments or lift the stop."))
            return redirect("stops:index")
        stopped = form.cleaned_data["action"] == "stop"
        if not stopped:
            try:
                customer_stop_lift_check(customer=customer)
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect("stops:index")
        here = reverse("stops:index")
        return stepup_begin(
            request,
            operation=STOP_SET,
            payload=stop_payload(stopped=stopped, channel=StopChannel.PORTAL),
            back_url=here,
            done_url=here,
        )
    return render(request, "stops/index.html", {"customer": customer})
