"""The development shop at /dev/shop/ (DEBUG only, like the payment terminal and the SMS outbox).

A merchant's checkout that plays the 3DS server and the directory server (acs/dev_shop.py): it sends the AReq to
the ACS API over HTTP, runs a challenge in a frame, reads the RReq the ACS delivered to the directory server and
sends the authorization to the card core's processor API over HTTP. docs/3d-secure.md, "Development shop".

After N the shop still sends the authorization, without 3-D Secure data, as a merchant may (it then bears the
fraud liability): the card core's own answer shows, a soft decline for want of SCA or "internet payments locked".
After R the scheme forbids an authorization: the shop stops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import wraps
from typing import Any

from csp.constants import SELF
from csp.decorators import csp_replace, csp_update
from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from kartosfera.acs.dev_shop import (
    ACS_API_PATH,
    SHOP_MERCHANTS,
    SHOP_MERCHANTS_BY_KEY,
    CResInvalid,
    Order,
    areq_body,
    areq_send,
    creq_for,
    cres_read,
    new_order,
    reason_words,
    three_ds_of,
)
from kartosfera.acs.selectors import rreq_received
from kartosfera.cards.models import Card
from kartosfera.core.money import MAX_AMOUNT_MINOR, Money
from kartosfera.portal.forms import ZlotyField
from kartosfera.processing.dev_views import authorization_send, card_label, demo_cards
from kartosfera.processing.models import Channel
from kartosfera.processing.terminal import authorization_body

ViewFunction = Callable[..., HttpResponseBase]


def dev_only(view: ViewFunction) -> ViewFunction:
    """404 unless DEBUG outside production: the shop reads demo cards' full numbers to build its AReqs."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.DEBUG or settings.IS_PRODUCTION:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


class ShopForm(forms.Form):
    card = forms.TypedChoiceField(label=_("Card"), coerce=int)
    merchant = forms.ChoiceField(
        label=_("Shop"),
        choices=[(m.key, f"{m.name} ({m.country}, MCC {m.mcc})") for m in SHOP_MERCHANTS],
    )
    amount = ZlotyField(label=_("Amount"), help_text=_("E.g. 12,50."))
    currency = forms.ChoiceField(label=_("Currency"), choices=[("PLN", "PLN"), ("EUR", "EUR")])
    challenge = forms.BooleanField(
        label=_("Ask for a challenge"),
        required=False,
        help_text=_(
            "The shop mandates a challenge (threeDSRequestorChallengeInd 04). Without it the bank may "
            "authenticate the payment without asking: a trusted shop or the low-value exemption."
        ),
    )

    def __init__(self, *args: Any, cards: list[Card], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cards = {card.pk: card for card in cards}
        card_field = self.fields["card"]
        assert isinstance(card_field, forms.TypedChoiceField)
        card_field.choices = [(card.pk, card_label(card)) for card in cards]

    def clean_amount(self) -> int:
        amount: int = self.cleaned_data["amount"]
        if amount <= 0:
            raise forms.ValidationError(_("Enter an amount greater than zero."))
        if amount > MAX_AMOUNT_MINOR:
            raise forms.ValidationError(_("This amount is too large."))
        return amount


def _summary(order: Order, card: Card | None) -> dict[str, Any]:
    return {
        "order": order,
        "paid_card": card_label(card) if card is not None else "",
        "paid_merchant": order.merchant,
        "amount": Money(order.amount_minor, order.currency),
    }


def _authentication(message: dict[str, Any], *, challenged: bool) -> dict[str, Any]:
    reason = str(message.get("transStatusReason") or "")
    return {
        "trans_status": message.get("transStatus"),
        "reason_code": reason,
        "reason_text": reason_words(reason) if reason else "",
        "challenged": challenged,
    }


def _authorize(request: HttpRequest, order: Order, card: Card, three_ds: dict[str, str]) -> dict[str, Any]:
    """Send the order's authorization to the card core; ``three_ds`` empty: without 3-D Secure data."""
    body = authorization_body(
        card=card,
        merchant=order.merchant,
        amount_minor=order.amount_minor,
        currency=order.currency,
        channel=Channel.ECOMMERCE,
        processor_id=order.processor_id,
        network_transaction_id=order.network_transaction_id,
        three_ds=three_ds,
    )
    return authorization_send(request, body)


def _after_authentication(
    request: HttpRequest, order: Order, card: Card, message: dict[str, Any], *, challenged: bool
) -> dict[str, Any]:
    """What follows an authentication's end (an ARes Y/N/R or an RReq Y/N): authorize, or stop after R."""
    context = {"authentication": _authentication(message, challenged=challenged)}
    status = message.get("transStatus")
    if status == "Y":
        context.update(_authorize(request, order, card, three_ds_of(message, order=order)))
    elif status == "N":
        context.update(_authorize(request, order, card, {}))
    return context


@dev_only
@require_http_methods(["GET", "POST"])
@never_cache
@csp_update({"frame-src": [SELF]})  # the challenge page frames the ACS's page (this server in development)
def shop(request: HttpRequest) -> HttpResponse:
    """The checkout: a demo card pays a demo shop; 3-D Secure frictionless or with a challenge (DEBUG only)."""
    cards = demo_cards()
    form = ShopForm(request.POST or None, cards=cards)
    context: dict[str, Any] = {"form": form, "has_cards": bool(cards)}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        card = form.cards[data["card"]]
        order = new_order(
            card=card,
            merchant=SHOP_MERCHANTS_BY_KEY[data["merchant"]],
            amount_minor=data["amount"],
            currency=data["currency"],
        )
        body = areq_body(
            order=order,
            card=card,
            challenge=data["challenge"],
            notification_url=request.build_absolute_uri(reverse("acs_dev:shop_notification")),
            language=get_language() or settings.LANGUAGE_CODE,
        )
        answer = areq_send(base_url=request.build_absolute_uri(ACS_API_PATH), body=body)
        ares = answer.body
        if answer.status != 200 or ares.get("transStatus") not in ("Y", "N", "C", "R"):
            context.update(acs_failed=True, api_error=ares.get("detail") or "", api_status=answer.status)
        elif ares["transStatus"] == "C":
            order = dataclasses.replace(order, acs_trans_id=str(ares.get("acsTransID") or ""))
            context = {
                **_summary(order, card),
                "acs_url": ares.get("acsURL") or "",
                "creq": creq_for(order),
                "session_data": order.sign(),
            }
            return render(request, "acs/dev/shop_challenge.html", context)
        else:
            context.update(_summary(order, card))
            context.update(_after_authentication(request, order, card, ares, challenged=False))
    return render(request, "acs/dev/shop.html", context)


@dev_only
@csrf_exempt  # the ACS's page posts here from its frame: a cross-site form in real life, with no token of ours
@require_POST
@never_cache
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})  # shown inside the shop's challenge frame
def shop_notification(request: HttpRequest) -> HttpResponse:
    """The notificationURL: the ACS's page posts the CRes here in the frame; the shop's result page follows."""
    order = Order.unsign(request.POST.get("threeDSSessionData", ""))
    if order is None:
        return _notification_refused(request, str(_("The order (threeDSSessionData) is missing, changed or too old.")))
    try:
        cres = cres_read(request.POST.get("cres", ""), order=order)
    except CResInvalid as exc:
        return _notification_refused(request, str(exc))
    return render(
        request,
        "acs/dev/shop_notification.html",
        {"session_data": order.sign(), "authenticated": cres["transStatus"] == "Y"},
    )


def _notification_refused(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "acs/dev/shop_notification.html", {"error": message}, status=400)


@dev_only
@require_POST
@never_cache
def shop_result(request: HttpRequest) -> HttpResponse:
    """After a challenge: the RReq the directory server received decides; then the card core's answer."""
    order = Order.unsign(request.POST.get("threeDSSessionData", ""))
    if order is None:
        refused = {"error": _("The order is missing, changed or too old: start a new payment.")}
        return render(request, "acs/dev/shop_result.html", refused, status=400)
    card = Card.objects.select_related("customer", "product", "account").filter(pk=order.card_id).first()
    context: dict[str, Any] = {**_summary(order, card), "session_data": order.sign()}
    if card is None:
        context["error"] = _("The card no longer exists: start a new payment.")
        return render(request, "acs/dev/shop_result.html", context, status=400)
    # The ACS tells the directory server, not the browser, how the challenge ended (the RReq): the CRes came
    # through the browser and proves nothing.
    rreq = rreq_received(order.three_ds_server_trans_id)
    if rreq is None or rreq.get("acsTransID") != order.acs_trans_id or rreq.get("transStatus") not in ("Y", "N"):
        context["rreq_missing"] = True
        return render(request, "acs/dev/shop_result.html", context)
    context.update(_after_authentication(request, order, card, rreq, challenged=True))
    return render(request, "acs/dev/shop_result.html", context)
