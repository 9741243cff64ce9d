"""Forms of the card pages: they parse input; the rules live in the card services."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kartosfera.cards.controls import LimitControl
from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import BLOCK_NOTE_MAX_LENGTH
from kartosfera.cards.pin import PIN_LENGTH, pin_check
from kartosfera.cards.states import CUSTOMER_CANCEL_REASONS, StatusReason
from kartosfera.core.money import Currency, currency_label

# "2 000,50", "2000.50", "2000", "2 000 zł": digits with optional spaces as
# thousands separators, and at most two decimals after a comma or a point.
_AMOUNT = re.compile(r"^(\d+)(?:[.,](\d{1,2}))?$")
_SPACES = re.compile(r"[\s\u00a0\u202f]")


def _strip_currency(text: str) -> str:
    # What Money.format writes around a number ("zł", "PLN", "EUR"), copied back into the field.
    for currency in Currency.values:
        for label in {currency, currency_label(currency)}:
            text = text.removesuffix(label).removeprefix(label)
    return text


def parse_zloty(text: str) -> int:
    """Parse an amount typed by a person into minor units (grosze, cents); ValidationError if it is not one."""
    cleaned = _strip_currency(_SPACES.sub("", text))
    match = _AMOUNT.match(cleaned)
    if not match:
        raise ValidationError(_("Enter an amount, e.g. 2 000 or 2 000,50."), code="invalid_amount")
    whole, cents = match.group(1), (match.group(2) or "0").ljust(2, "0")
    if len(whole) > 12:
        raise ValidationError(_("This amount is too large."), code="amount_too_large")
    return int(whole) * 100 + int(cents)


class ZlotyField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int:
        text = super().clean(value)
        return parse_zloty(text)


class BlockForm(forms.Form):
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=BLOCK_NOTE_MAX_LENGTH,
        help_text=_("For yourself, e.g. “left at the gym”. At most 200 characters."),
    )


class CancelForm(forms.Form):
    reason = forms.TypedChoiceField(
        label=_("Why are you cancelling the card?"),
        choices=[(reason.value, reason.label) for reason in CUSTOMER_CANCEL_REASONS],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the reason."), "invalid_choice": _("Choose the reason.")},
    )
    confirm = forms.BooleanField(
        label=_("I understand this cannot be undone: the card will stop working for good."),
        error_messages={"required": _("Tick the box to confirm that you want to cancel the card.")},
    )

    def clean_reason(self) -> StatusReason:
        return StatusReason(self.cleaned_data["reason"])


class ContactlessForm(forms.Form):
    enabled = forms.TypedChoiceField(
        choices=[("on", "on"), ("off", "off")],
        coerce=lambda value: value == "on",
        error_messages={"required": _("Choose on or off."), "invalid_choice": _("Choose on or off.")},
    )


def limit_help_text(limit: LimitControl) -> str:
    """A limit's real range: its maximum and, for a part of another limit (internet), that limit's value."""
    definition, maximum = limit.definition, limit.maximum
    if definition.part_of is None:
        text = _("From 0 to %(maximum)s.") % {"maximum": maximum.format()}
    elif limit.ceiling.minor < maximum.minor:
        text = str(definition.help_capped) % {"ceiling": limit.ceiling.format(), "maximum": maximum.format()}
    else:
        text = str(definition.help_full) % {"maximum": maximum.format()}
    return f"{text} {definition.zero_help}" if definition.zero_help else text


class LimitsForm(forms.Form):
    """One amount field per amount limit in the control registry (cards/controls.py), named after it."""

    def __init__(self, *args: Any, card: Card, **kwargs: Any) -> None:
        self.card = card
        super().__init__(*args, **kwargs)
        for limit in card.controls.limits:
            self.fields[limit.name] = ZlotyField(
                label=limit.label,
                help_text=limit_help_text(limit),
                initial=limit.amount.format_number(),
            )

    def limits(self) -> dict[str, int]:
        """The typed limits: control name → minor units."""
        return {limit.name: self.cleaned_data[limit.name] for limit in self.card.controls.limits}


def _pin_widget() -> forms.PasswordInput:
    # render_value=False: a form shown again after an error never carries the PIN back to the page.
    return forms.PasswordInput(
        render_value=False,
        attrs={"autocomplete": "off", "inputmode": "numeric", "pattern": "[0-9]*", "maxlength": str(PIN_LENGTH)},
    )


class PinChangeForm(forms.Form):
    """A new PIN typed twice; the rules (cards/pin.py) say why a trivial one is refused."""

    pin = forms.CharField(
        label=_("New PIN"),
        max_length=PIN_LENGTH,
        strip=True,
        widget=_pin_widget(),
        help_text=_(
            "4 digits, different from your 3-D Secure code. Avoid easy ones like 1111, 1234 or your year of birth."
        ),
        error_messages={"required": _("Enter the new PIN.")},
    )
    pin_again = forms.CharField(
        label=_("New PIN again"),
        max_length=PIN_LENGTH,
        strip=True,
        widget=_pin_widget(),
        error_messages={"required": _("Enter the new PIN again.")},
    )

    def __init__(self, *args: Any, card: Card, **kwargs: Any) -> None:
        self.card = card
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # The form's own length message would echo nothing secret, but keep one clear message per rule.
            field.error_messages["max_length"] = _("The PIN must have exactly 4 digits.")

    def clean_pin(self) -> str:
        pin: str = self.cleaned_data["pin"]
        pin_check(pin, card=self.card)
        return pin

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        pin, again = cleaned.get("pin"), cleaned.get("pin_again")
        if pin and again is not None and pin != again:
            self.add_error("pin_again", _("The two PINs are different. Type the same PIN twice."))
        return cleaned
