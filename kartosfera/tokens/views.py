"""The cardholder's pages of a card's wallet tokens (routed in the portal's namespace, portal/urls.py)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kartosfera.cards.models import Card
from kartosfera.cards.selectors import card_get_for_customer
from kartosfera.core.audit import Actor
from kartosfera.core.decorators import cardholder_customer, cardholder_required, cardholder_user
from kartosfera.core.errors import DomainError
from kartosfera.sca.stepup import stepup_begin
from kartosfera.tokens.models import Token
from kartosfera.tokens.selectors import token_get_for_customer, token_list_for_card
from kartosfera.tokens.services import token_delete, token_suspend
from kartosfera.tokens.stepup_operations import TOKEN_RESUME, token_resume_payload

FORM_METHODS = ["GET", "HEAD", "POST"]


def _card(request: HttpRequest, card_id: int) -> Card:
    return card_get_for_customer(customer=cardholder_customer(request), card_id=card_id)


def _token(request: HttpRequest, card_id: int, token_id: int) -> Token:
    # Through the holder and the card in the URL: another customer's token, or another card's, is a 404.
    return token_get_for_customer(customer=cardholder_customer(request), token_id=token_id, card_id=card_id)


def _list_url(card_id: int) -> str:
    return reverse("portal:card_tokens", kwargs={"card_id": card_id})


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(cardholder_user(request))


def _refused(request: HttpRequest, card_id: int, error: DomainError) -> HttpResponseRedirect:
    messages.error(request, error.message)
    return HttpResponseRedirect(_list_url(card_id))


@never_cache
@require_safe
@cardholder_required
def card_tokens(request: HttpRequest, card_id: int) -> HttpResponse:
    """The card's tokens in phone wallets, with what the holder can do with each."""
    card = _card(request, card_id)
    tokens = list(token_list_for_card(card=card))
    return render(request, "tokens/card_tokens.html", {"card": card, "tokens": tokens})


@require_POST
@cardholder_required
def token_suspend_view(request: HttpRequest, card_id: int, token_id: int) -> HttpResponse:
    """Suspend at once, with no code: it must work even when the phone is lost."""
    token = _token(request, card_id, token_id)
    try:
        token_suspend(actor=_actor(request), token=token)
    except DomainError as exc:
        return _refused(request, card_id, exc)
    messages.success(
        request,
        _("The card in %(wallet)s is suspended: nobody can pay with it there until you resume it.")
        % {"wallet": token.get_wallet_display()},
    )
    return HttpResponseRedirect(_list_url(card_id))


@require_POST
@cardholder_required
def token_resume_view(request: HttpRequest, card_id: int, token_id: int) -> HttpResponse:
    """Resume once the SMS code naming the token and the card confirms it (kartosfera/tokens/stepup_operations.py)."""
    token = _token(request, card_id, token_id)
    return stepup_begin(
        request,
        operation=TOKEN_RESUME,
        payload=token_resume_payload(token),
        card=token.card,
        back_url=_list_url(card_id),
    )


@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
def token_delete_view(request: HttpRequest, card_id: int, token_id: int) -> HttpResponse:
    """Delete for good, after an explicit confirmation (no code: removing a card from a wallet moves no money)."""
    token = _token(request, card_id, token_id)
    if request.method == "POST":
        try:
            token_delete(actor=_actor(request), token=token)
        except DomainError as exc:
            return _refused(request, card_id, exc)
        messages.success(request, _("The card is removed from %(wallet)s.") % {"wallet": token.get_wallet_display()})
        return HttpResponseRedirect(_list_url(card_id))
    return render(request, "tokens/token_delete.html", {"card": token.card, "token": token})
