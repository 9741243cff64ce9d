"""The development payment terminal at /dev/terminal/ (DEBUG only, like the SMS outbox).

It plays the card processor: builds an authorization request for a demo card and
POSTs it over HTTP to the server's own processor API (never an in-process call), so
what it shows is exactly what the API decided. An online payment with 3-D Secure is
first authenticated by our own ACS, in-process (``three_ds_authenticate``: an AReq):
a frictionless Y's value goes with the authorization; a challenge needs the holder's
3-D Secure PIN and SMS code, which only the development shop (/dev/shop/) asks for,
so the terminal then sends nothing and says so; an N or R sends the payment without
3-D Secure, and the card core decides it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from kartosfera.acs.models import TransStatus
from kartosfera.cards.models import Card
from kartosfera.cards.pinblock import PIN_LENGTHS
from kartosfera.core.money import MAX_AMOUNT_MINOR, Money
from kartosfera.demo.bank import DEMO_CARD_PIN
from kartosfera.portal.forms import ZlotyField
from kartosfera.processing.merchants import MERCHANTS, MERCHANTS_BY_KEY
from kartosfera.processing.models import Channel, ScaExemption
from kartosfera.processing.terminal import (
    ProcessorClient,
    authorization_body,
    dev_processor_token,
    three_ds_authenticate,
    three_ds_data,
)

CARD_LIMIT = 200
PROCESSOR_API_PATH = "/api/processor/v1/"
# Where a payment our ACS wants to challenge can be paid: the development shop plays the holder's browser.
DEV_SHOP_PATH = "/dev/shop/"


class Way(NamedTuple):
    """How the card is used at the terminal: the label, the API's channel, whether a PIN is entered and, online,
    whether 3-D Secure passed or which PSD2 exemption the acquirer claims instead."""

    label: Promise
    channel: str
    takes_pin: bool
    three_ds: bool = True
    sca_exemption: str = ""


CHANNELS = {
    "contactless": Way(_("Contactless (tap)"), Channel.POS_CONTACTLESS, False),
    # What a terminal does after the contactless soft decline (70 / 65): the same tap again, with the PIN.
    "contactless_pin": Way(_("Contactless with PIN"), Channel.POS_CONTACTLESS, True),
    "chip_pin": Way(_("Chip with PIN"), Channel.POS_CHIP, True),
    "atm": Way(_("ATM withdrawal (PIN)"), Channel.ATM, True),
    "online": Way(_("Online with 3-D Secure"), Channel.ECOMMERCE, False),
    "online_low_value": Way(
        _("Online, low-value exemption (no 3-D Secure)"),
        Channel.ECOMMERCE,
        False,
        three_ds=False,
        sca_exemption=ScaExemption.LOW_VALUE,
    ),
}


def demo_cards() -> list[Card]:
    """The cards a development tool offers, by holder (at most CARD_LIMIT)."""
    return list(
        Card.objects.select_related("customer", "product", "account").order_by(
            "customer__last_name", "customer__first_name", "pk"
        )[:CARD_LIMIT]
    )


def card_label(card: Card) -> str:
    """A card as the development tools name it: holder, product, last 4 digits, currency; never the number."""
    return f"{card.customer.full_name} — {card.product.name} •••• {card.pan_last4} ({card.account.currency})"


class TerminalForm(forms.Form):
    card = forms.TypedChoiceField(label=_("Card"), coerce=int)
    merchant = forms.ChoiceField(
        label=_("Merchant"),
        choices=[(m.key, f"{m.name}, {m.city} ({m.country}, MCC {m.mcc})") for m in MERCHANTS],
    )
    amount = ZlotyField(label=_("Amount"), help_text=_("E.g. 12,50."))
    currency = forms.ChoiceField(label=_("Currency"), choices=[("PLN", "PLN"), ("EUR", "EUR")])
    channel = forms.ChoiceField(label=_("How the card is used"), choices=[(k, v.label) for k, v in CHANNELS.items()])
    pin = forms.CharField(
        label=_("PIN"),
        required=False,
        max_length=max(PIN_LENGTHS),
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "inputmode": "numeric", "pattern": "[0-9]*"}
        ),
    )

    def __init__(self, *args: Any, cards: list[Card], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cards = {card.pk: card for card in cards}
        card_field = self.fields["card"]
        assert isinstance(card_field, forms.TypedChoiceField)
        card_field.choices = [(card.pk, card_label(card)) for card in cards]
        self.fields["pin"].help_text = gettext(
            "Only for a payment with PIN; it goes only into an encrypted PIN block. "
            "The demo bank's cards have the PIN %(pin)s until their holder changes it in the portal."
        ) % {"pin": DEMO_CARD_PIN}

    def clean_amount(self) -> int:
        amount: int = self.cleaned_data["amount"]
        if amount <= 0:
            raise forms.ValidationError(_("Enter an amount greater than zero."))
        if amount > MAX_AMOUNT_MINOR:
            raise forms.ValidationError(_("This amount is too large."))
        return amount

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        channel = data.get("channel")
        pin = data.get("pin") or ""
        if channel in CHANNELS and CHANNELS[channel].takes_pin:
            if not (pin.isascii() and pin.isdigit() and len(pin) in PIN_LENGTHS):
                self.add_error("pin", _("Enter the PIN: 4 to 12 digits."))
        elif pin:
            self.add_error("pin", _("This way of paying takes no PIN; leave the PIN empty."))
        return data


@require_http_methods(["GET", "POST"])
@never_cache
def terminal(request: HttpRequest) -> HttpResponse:
    """Pay with a demo card at a demo merchant and show the card core's decision (DEBUG only)."""
    # It reads demo cards' full numbers to build requests: it exists only on a developer's machine.
    if not settings.DEBUG or settings.IS_PRODUCTION:
        raise Http404
    cards = demo_cards()
    form = TerminalForm(request.POST or None, cards=cards)
    context: dict[str, Any] = {"form": form, "has_cards": bool(cards)}
    if request.method == "POST" and form.is_valid():
        context.update(_pay(request, form))
    return render(request, "processing/dev/terminal.html", context)


def _pay(request: HttpRequest, form: TerminalForm) -> dict[str, Any]:
    data = form.cleaned_data
    card = form.cards[data["card"]]
    merchant = MERCHANTS_BY_KEY[data["merchant"]]
    way = CHANNELS[data["channel"]]
    paid = {"paid_card": card_label(card), "paid_merchant": merchant}
    three_ds: dict[str, str] = {}
    acs_answer: dict[str, str] = {}
    if way.channel == Channel.ECOMMERCE and way.three_ds:
        record = three_ds_authenticate(
            card=card, merchant=merchant, amount_minor=data["amount"], currency=data["currency"]
        )
        if record.trans_status == TransStatus.CHALLENGE:
            # Only the holder can pass a challenge (the 3DS PIN and the SMS code): no authorization is sent.
            return {"challenge": True, "shop_path": DEV_SHOP_PATH, **paid}
        if record.trans_status == TransStatus.AUTHENTICATED:
            three_ds = three_ds_data(record)
        else:
            acs_answer = {"status": record.trans_status, "reason": record.trans_status_reason}
    body = authorization_body(
        card=card,
        merchant=merchant,
        amount_minor=data["amount"],
        currency=data["currency"],
        channel=way.channel,
        pin=data["pin"] if way.takes_pin else None,
        three_ds=three_ds,
        sca_exemption=way.sca_exemption,
    )
    context = authorization_send(request, body)
    if "result" in context:
        context.update(acs_answer=acs_answer, **paid)
    return context


def authorization_send(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    """POST an authorization to this server's processor API; the decision as a page shows it, or the failure."""
    base = request.build_absolute_uri(PROCESSOR_API_PATH)
    answer = ProcessorClient(base, dev_processor_token()).post("authorizations", body)
    if answer.status != 200:
        return {"api_failed": True, "api_error": answer.body.get("detail") or "", "api_status": answer.status}
    result = answer.body
    message = result.get("decline_message") or {}
    return {
        "result": result,
        "reason_text": message.get("pl" if (get_language() or "").startswith("pl") else "en", ""),
        "approved_amount": Money(result["approved_amount_minor"], result["currency"])
        if result["currency"] in ("PLN", "EUR")
        else None,
    }
