from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kartosfera.banks.selectors import bank_contact
from kartosfera.cards.models import Card
from kartosfera.cards.operations import OPERATIONS, Operation, operation_refusal
from kartosfera.cards.operations_services import card_block_temporarily, card_cancel, card_contactless_set
from kartosfera.cards.pin import pin_verification_values, threeds_pin_verification_values
from kartosfera.cards.selectors import (
    card_get_for_customer,
    card_history,
    card_list_for_customer,
    card_successor_for_customer,
)
from kartosfera.cards.stepup_operations import (
    CARD_ACTIVATE,
    CARD_LIMITS_CHANGE,
    CARD_MOBILE_PAYMENTS_SET,
    CARD_PIN_CHANGE,
    CARD_UNBLOCK,
    PIN_PAYLOAD_KEY,
    THREEDS_PAYLOAD_KEY,
    limits_change_payload,
)
from kartosfera.core.audit import Actor
from kartosfera.core.audit_actions import Audience
from kartosfera.core.audit_trail import trail_rows
from kartosfera.core.decorators import cardholder_customer, cardholder_required, cardholder_user
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.notices.presenters import decline_notice_rows
from kartosfera.notices.selectors import decline_notices_recent
from kartosfera.portal.forms import BlockForm, CancelForm, ContactlessForm, LimitsForm, PinChangeForm, WhatIfForm
from kartosfera.portal.presenters import card_summary, controls_summary
from kartosfera.processing import selectors as processing_selectors
from kartosfera.processing.codes import Setting
from kartosfera.processing.forms import HistoryFilterForm, SpendingForm, month_param
from kartosfera.processing.presenters import SettingLink, held_amount, history_rows
from kartosfera.processing.spending import (
    SpendingScope,
    months_offered,
    spending_account_visible,
    spending_by_category,
)
from kartosfera.processing.spending_chart import spending_chart
from kartosfera.processing.what_if import Scenario, what_if
from kartosfera.sca.stepup import stepup_begin
from kartosfera.statements.selectors import statements_visible

FORM_METHODS = ["GET", "HEAD", "POST"]


def _card(request: HttpRequest, card_id: int) -> Card:
    return card_get_for_customer(customer=cardholder_customer(request), card_id=card_id)


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(cardholder_user(request))


def _data(request: HttpRequest) -> QueryDict | None:
    return request.POST if request.method == "POST" else None


def _detail_url(card: Card) -> str:
    return reverse("portal:card_detail", kwargs={"card_id": card.pk})


def _refused(request: HttpRequest, card: Card, error: DomainError) -> HttpResponseRedirect:
    """The one place a refused card operation becomes a message: back to the card page."""
    messages.error(request, error.message)
    return HttpResponseRedirect(_detail_url(card))


def _not_allowed(request: HttpRequest, card: Card, operation: str) -> HttpResponseRedirect | None:
    reason = operation_refusal(card, operation)
    if reason is None:
        return None
    messages.error(request, reason)
    return HttpResponseRedirect(_detail_url(card))


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return redirect("portal:card_list")


@require_safe
@cardholder_required
def card_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    cards = [card_summary(card, now=now) for card in card_list_for_customer(customer=cardholder_customer(request))]
    return render(request, "portal/card_list.html", {"cards": cards})


@never_cache
@require_safe
@cardholder_required
def card_detail(request: HttpRequest, card_id: int) -> HttpResponse:
    card = _card(request, card_id)
    now = timezone.now()
    summary = card_summary(card, now=now)
    refusals = {operation: operation_refusal(card, operation, now=now) for operation in OPERATIONS}
    context = {
        "summary": summary,
        "card": card,
        "account": card.account,
        "allowed": {operation: reason is None for operation, reason in refusals.items()},
        "contactless_reason": refusals[Operation.CONTACTLESS_OFF] if not card.product.contactless_capable else None,
        # A cancelled card's page says what to do next: its successor, when the bank has issued one.
        "successor": card_successor_for_customer(customer=cardholder_customer(request), card=card)
        if summary.is_final
        else None,
        "history": trail_rows(card_history(card=card), viewer=Audience.CARDHOLDER),
        # Payments a control the holder set declined (kartosfera/notices/), each with the link to that setting.
        "declines": decline_notice_rows(
            decline_notices_recent(customer=cardholder_customer(request), card=card, now=now),
            setting_link=_setting_link(card).get,
        ),
        "contactless_form": ContactlessForm(),
        "controls": controls_summary(card, now=now),
        "what_if_form": WhatIfForm(),
        # The issuing bank answers for the card: its helplines and branches on the card's page.
        "contact": bank_contact(bank=card.bank),
        # A credit card's statements are its account owner's (an additional card's holder owes nothing).
        "statements_shown": statements_visible(customer=cardholder_customer(request), card=card),
    }
    return render(request, "portal/card_detail.html", context)


@require_POST
@cardholder_required
def card_activate(request: HttpRequest, card_id: int) -> HttpResponse:
    card = _card(request, card_id)
    if refused := _not_allowed(request, card, Operation.ACTIVATE):
        return refused
    return stepup_begin(request, operation=CARD_ACTIVATE, payload={}, card=card, back_url=_detail_url(card))


@require_POST
@cardholder_required
def card_unblock(request: HttpRequest, card_id: int) -> HttpResponse:
    card = _card(request, card_id)
    if refused := _not_allowed(request, card, Operation.UNBLOCK):
        return refused
    return stepup_begin(request, operation=CARD_UNBLOCK, payload={}, card=card, back_url=_detail_url(card))


@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
def card_block(request: HttpRequest, card_id: int) -> HttpResponse:
    """Block at once, with no code: it must work even when the phone is lost."""
    card = _card(request, card_id)
    if refused := _not_allowed(request, card, Operation.BLOCK):
        return refused
    form = BlockForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            card_block_temporarily(actor=_actor(request), card=card, note=form.cleaned_data["note"])
        except DomainError as exc:
            return _refused(request, card, exc)
        messages.success(request, _("The card is temporarily blocked. Nobody can pay with it until you unblock it."))
        return HttpResponseRedirect(_detail_url(card))
    return render(request, "portal/card_block.html", {"card": card, "form": form})


@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
def card_cancel_view(request: HttpRequest, card_id: int) -> HttpResponse:
    """Cancel at once, with no code but with an explicit confirmation."""
    card = _card(request, card_id)
    if refused := _not_allowed(request, card, Operation.CANCEL):
        return refused
    form = CancelForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            card_cancel(actor=_actor(request), card=card, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            return _refused(request, card, exc)
        messages.success(request, _("The card is cancelled. It cannot be used any more."))
        return HttpResponseRedirect(_detail_url(card))
    return render(request, "portal/card_cancel.html", {"card": card, "form": form})


@require_POST
@cardholder_required
def card_contactless(request: HttpRequest, card_id: int) -> HttpResponse:
    """Switch contactless payments off or on again: no code either way (not in PRODUCT.md's step-up list)."""
    card = _card(request, card_id)
    form = ContactlessForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose on or off."))
        return HttpResponseRedirect(_detail_url(card))
    enabled: bool = form.cleaned_data["enabled"]
    try:
        card_contactless_set(actor=_actor(request), card=card, enabled=enabled)
    except DomainError as exc:
        return _refused(request, card, exc)
    messages.success(
        request,
        _("Contactless payments are switched on.") if enabled else _("Contactless payments are switched off."),
    )
    return HttpResponseRedirect(_detail_url(card))


@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
def card_limits(request: HttpRequest, card_id: int) -> HttpResponse:
    """Change the daily limits: the operation's rule decides (lowering at once, raising after the SMS code)."""
    card = _card(request, card_id)
    if refused := _not_allowed(request, card, Operation.LIMITS_CHANGE):
        return refused
    form = LimitsForm(_data(request), card=card)
    if request.method == "POST" and form.is_valid():
        try:
            payload = limits_change_payload(card, form.limits())
        except ValidationFailed as exc:
            for field, message in exc.field_errors.items():
                form.add_error(field, message)
        else:
            return stepup_begin(
                request,
                operation=CARD_LIMITS_CHANGE,
                payload=payload,
                card=card,
                back_url=reverse("portal:card_limits", kwargs={"card_id": card.pk}),
                done_url=_detail_url(card),
            )
    return render(
        request,
        "portal/card_limits.html",
        {"card": card, "form": form},
    )


@sensitive_post_parameters("pin", "pin_again")
@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
def card_pin(request: HttpRequest, card_id: int) -> HttpResponse:
    """Change the PIN: typed twice, checked against the trivial-PIN rules, confirmed with the SMS code.

    Only the keyed verification value leaves this view (in the step-up payload);
    the PIN itself is never stored, logged or rendered back.
    """
    card = _card(request, card_id)
    if refused := _not_allowed(request, card, Operation.PIN_CHANGE):
        return refused
    form = PinChangeForm(_data(request), card=card)
    if request.method == "POST" and form.is_valid():
        pin = form.cleaned_data["pin"]
        # Both values, so that the confirmed change can be compared with the 3DS PIN
        # (only then: an answer now would tell a stolen session the 3DS PIN).
        values = {
            PIN_PAYLOAD_KEY: pin_verification_values(pin, card=card),
            THREEDS_PAYLOAD_KEY: threeds_pin_verification_values(pin, customer=card.customer),
        }
        return stepup_begin(
            request,
            operation=CARD_PIN_CHANGE,
            payload=values,
            card=card,
            back_url=reverse("portal:card_pin", kwargs={"card_id": card.pk}),
            done_url=_detail_url(card),
        )
    return render(request, "portal/card_pin.html", {"card": card, "form": form})


@require_POST
@cardholder_required
def card_mobile_payments(request: HttpRequest, card_id: int) -> HttpResponse:
    """Allow the card in phone wallets and BS Pay, once the SMS code confirms it."""
    card = _card(request, card_id)
    if refused := _not_allowed(request, card, Operation.MOBILE_PAYMENTS_ACTIVATE):
        return refused
    if card.mobile_payments_enabled:
        messages.info(request, _("Mobile payments are already active for this card."))
        return HttpResponseRedirect(_detail_url(card))
    return stepup_begin(
        request, operation=CARD_MOBILE_PAYMENTS_SET, payload={"enabled": True}, card=card, back_url=_detail_url(card)
    )


@require_POST
@cardholder_required
def card_mobile_payments_off(request: HttpRequest, card_id: int) -> HttpResponse:
    """Stop the card's use in phone wallets and BS Pay at once: no code, as with every switch-off (the rule's)."""
    card = _card(request, card_id)
    return stepup_begin(
        request, operation=CARD_MOBILE_PAYMENTS_SET, payload={"enabled": False}, card=card, back_url=_detail_url(card)
    )


def _setting_link(card: Card) -> dict[str, SettingLink]:
    """Where the cardholder changes the setting that caused a decline (codes.py's ``setting``)."""
    manage = _detail_url(card) + "#manage"
    return {
        Setting.CONTACTLESS: SettingLink(manage, _("Switch contactless payments on")),
        Setting.MOBILE_PAYMENTS: SettingLink(manage, _("Activate mobile payments")),
        Setting.THREEDS: SettingLink(reverse("secure3d:index"), _("Open the 3-D Secure settings")),
        Setting.LIMITS: SettingLink(reverse("portal:card_limits", kwargs={"card_id": card.pk}), _("Change the limits")),
        Setting.STATE: SettingLink(manage, _("Manage the card")),
        Setting.CONTROLS: SettingLink(
            reverse("portal:card_controls", kwargs={"card_id": card.pk}), _("Open the card's controls")
        ),
        Setting.STOP: SettingLink(reverse("stops:index"), _("Lift the stop of all payments")),
    }


@never_cache
@require_safe
@cardholder_required
def card_what_if(request: HttpRequest, card_id: int) -> HttpResponse:
    """Would a payment go through? The card core's pipeline, run dry: nothing is written (processing/what_if.py)."""
    card = _card(request, card_id)
    form = WhatIfForm(request.GET or None)
    answer, link = None, None
    if form.is_valid():
        scenario = Scenario(
            amount_minor=form.cleaned_data["amount"],
            currency=form.cleaned_data["currency"],
            channel=form.cleaned_data["channel"],
            merchant_country=form.cleaned_data["country"],
            category=form.cleaned_data["category"],
        )
        try:
            answer = what_if(card, scenario)
        except ValidationFailed as exc:
            for message in exc.field_errors.values():
                form.add_error(None, message)
        else:
            link = _setting_link(card).get(answer.setting) if not answer.approved else None
    return render(request, "portal/card_what_if.html", {"card": card, "form": form, "answer": answer, "link": link})


@never_cache
@require_safe
@cardholder_required
def card_authorization_history(request: HttpRequest, card_id: int) -> HttpResponse:
    """The card's payments and postings (a credit card's "lista autoryzacji"), filtered and paged, and the holds."""
    customer = cardholder_customer(request)
    card = processing_selectors.history_card_get(customer=customer, card_id=card_id)
    form = HistoryFilterForm(request.GET or None)
    history = processing_selectors.card_history_entries(customer=customer, card=card, filters=form.filters())
    page = Paginator(history, processing_selectors.HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    links = _setting_link(card)
    query = request.GET.copy()
    query.pop("page", None)
    holds = processing_selectors.account_holds(customer=customer, account=card.account)
    context = {
        "card": card,
        "account": card.account,
        "form": form,
        "page": page,
        "rows": history_rows(processing_selectors.history_entries_load(page.object_list), setting_link=links.get),
        "holds": [(hold, held_amount(hold)) for hold in holds],
        "holds_cut": len(holds) >= processing_selectors.HOLDS_SHOWN,
        "query": query.urlencode(),
    }
    return render(request, "portal/card_history.html", context)


@never_cache
@require_safe
@cardholder_required
def card_spending(request: HttpRequest, card_id: int) -> HttpResponse:
    """The card's (or its whole account's) spending of a month per category: a chart and the same figures as a table."""
    customer = cardholder_customer(request)
    card = _card(request, card_id)
    account_choice = spending_account_visible(customer=customer, card=card)
    form = SpendingForm(request.GET or None, months=months_offered())
    month, scope = form.chosen()
    spending = spending_by_category(customer=customer, card=card, month=month, scope=scope)
    context = {
        "card": card,
        "form": form,
        "spending": spending,
        "chart": spending_chart(spending),
        "month_param": month_param(month),
        "account_choice": account_choice,
        "whole_account": scope == SpendingScope.ACCOUNT,
    }
    return render(request, "portal/card_spending.html", context)
