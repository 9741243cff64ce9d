"""The card's finer controls and the temporary raise of its limits (docs/controls.md).

Thin views: the forms parse, the step-up operations (kartosfera/cards/stepup_operations.py) hold the
rule of which change needs the SMS code, and the services in kartosfera/cards/controls_services.py write.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from kartosfera.cards.controls_services import card_temporary_raise_end
from kartosfera.cards.merchant_categories import blockable_category
from kartosfera.cards.operations import Operation, operation_refusal
from kartosfera.cards.selectors import card_get_for_customer
from kartosfera.cards.stepup_operations import (
    CARD_CONTROLS_CHANGE,
    CARD_LIMITS_RAISE_TEMPORARY,
    controls_change_payload,
    limits_raise_temporary_payload,
)
from kartosfera.core.audit import Actor
from kartosfera.core.decorators import cardholder_customer, cardholder_required, cardholder_user
from kartosfera.core.errors import ValidationFailed
from kartosfera.portal.forms import ControlsForm, TemporaryRaiseForm
from kartosfera.sca.stepup import stepup_begin

FORM_METHODS = ["GET", "HEAD", "POST"]


def _detail_url(card_id: int) -> str:
    return reverse("portal:card_detail", kwargs={"card_id": card_id})


def _refused(request: HttpRequest, card_id: int, reason: str) -> HttpResponseRedirect:
    messages.error(request, reason)
    return HttpResponseRedirect(_detail_url(card_id))


def _show_errors(form: ControlsForm | TemporaryRaiseForm, error: ValidationFailed) -> None:
    for field, message in error.field_errors.items():
        form.add_error(field if field in form.fields else None, message)


@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
def card_controls(request: HttpRequest, card_id: int) -> HttpResponse:
    """Switches, count limits, merchant categories and countries: tightening at once, loosening with the code."""
    card = card_get_for_customer(customer=cardholder_customer(request), card_id=card_id)
    if reason := operation_refusal(card, Operation.CONTROLS_CHANGE):
        return _refused(request, card.pk, reason)
    form = ControlsForm(request.POST if request.method == "POST" else None, card=card)
    if request.method == "POST" and form.is_valid():
        try:
            settings = form.settings()
        except ValidationFailed as exc:
            _show_errors(form, exc)
        else:
            return stepup_begin(
                request,
                operation=CARD_CONTROLS_CHANGE,
                payload=controls_change_payload(card, settings),
                card=card,
                back_url=reverse("portal:card_controls", kwargs={"card_id": card.pk}),
                done_url=_detail_url(card.pk),
            )
    now = timezone.now()
    lifting = [
        (blockable_category(key).label, state.lifts_at)
        for key, state in card.controls.blocked_categories(now=now).items()
        if state.lifts_at is not None
    ]
    return render(request, "portal/card_controls.html", {"card": card, "form": form, "lifting": lifting})


@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
def card_temporary_raise(request: HttpRequest, card_id: int) -> HttpResponse:
    """Raise limits for a while (10 minutes to 24 hours), always with the SMS code; they fall back by themselves."""
    card = card_get_for_customer(customer=cardholder_customer(request), card_id=card_id)
    if reason := operation_refusal(card, Operation.LIMITS_CHANGE):
        return _refused(request, card.pk, reason)
    form = TemporaryRaiseForm(request.POST if request.method == "POST" else None, card=card)
    if request.method == "POST" and form.is_valid():
        try:
            payload = limits_raise_temporary_payload(card, limits=form.limits(), minutes=form.cleaned_data["minutes"])
        except ValidationFailed as exc:
            _show_errors(form, exc)
        else:
            return stepup_begin(
                request,
                operation=CARD_LIMITS_RAISE_TEMPORARY,
                payload=payload,
                card=card,
                back_url=reverse("portal:card_temporary_raise", kwargs={"card_id": card.pk}),
                done_url=_detail_url(card.pk),
            )
    return render(request, "portal/card_temporary_raise.html", {"card": card, "form": form})


@require_POST
@cardholder_required
def card_temporary_raise_end_view(request: HttpRequest, card_id: int) -> HttpResponse:
    """End the raise now: no code, as lowering never needs one."""
    card = card_get_for_customer(customer=cardholder_customer(request), card_id=card_id)
    card_temporary_raise_end(actor=Actor.for_user(cardholder_user(request)), card=card)
    messages.success(request, _("The card's own limits apply again."))
    return HttpResponseRedirect(_detail_url(card.pk))
