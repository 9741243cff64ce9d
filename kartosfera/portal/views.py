from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from kartosfera.cards.selectors import card_get_for_customer, card_list_for_customer
from kartosfera.customers.models import Customer
from kartosfera.portal.decorators import cardholder_required
from kartosfera.portal.presenters import card_summary
from kartosfera.users.models import User


def _customer(request: HttpRequest) -> Customer:
    """The signed-in cardholder's customer record (cardholder_required has vetted the user)."""
    user = request.user
    if not isinstance(user, User) or user.customer is None:  # unreachable behind cardholder_required
        raise PermissionDenied
    return user.customer


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return redirect("portal:card_list")


@require_safe
@cardholder_required
def card_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    cards = [card_summary(card, today=today) for card in card_list_for_customer(customer=_customer(request))]
    return render(request, "portal/card_list.html", {"cards": cards})


@require_safe
@cardholder_required
def card_detail(request: HttpRequest, card_id: int) -> HttpResponse:
    card = card_get_for_customer(customer=_customer(request), card_id=card_id)
    summary = card_summary(card, today=timezone.localdate())
    return render(request, "portal/card_detail.html", {"summary": summary, "card": card, "account": card.account})
