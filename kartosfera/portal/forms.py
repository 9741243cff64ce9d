"""Forms of the card pages: they parse input; the rules live in the card services."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kartosfera.cards.controls import FINE_SWITCHES, LimitControl, control, count_limits
from kartosfera.cards.controls_services import (
    TEMPORARY_RAISE_MINUTES,
    ControlSettings,
    control_settings_clean,
    control_settings_of,
)
from kartosfera.cards.merchant_categories import BLOCKABLE_CATEGORIES
from kartosfera.cards.models import COUNT_LIMIT_MAX, Card, CountryRule
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

    def clean(self, value: Any) -> int | None:
        text = super().clean(value)
        if not text and not self.required:
            return None  # left empty on purpose (e.g. a limit the temporary raise keeps)
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


class ControlsForm(forms.Form):
    """The card's finer controls (cards/controls.py, docs/controls.md): one field per registered control."""

    blocked_categories = forms.MultipleChoiceField(
        label=_("Block payments to these merchants"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    country_rule = forms.ChoiceField(
        label=_("Where the card may pay"),
        choices=CountryRule.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose one of the options."), "invalid_choice": _("Choose one of the options.")},
    )
    countries = forms.CharField(
        label=_("Countries"),
        required=False,
        max_length=400,
        help_text=_("Two-letter codes separated by commas, e.g. DE, CZ, SK. Needed for the last two options."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def __init__(self, *args: Any, card: Card, **kwargs: Any) -> None:
        self.card = card
        current = control_settings_of(card)
        super().__init__(*args, **kwargs)
        self.switch_names = list(FINE_SWITCHES)
        for name in FINE_SWITCHES:
            definition = control(name)
            self.fields[name] = forms.BooleanField(
                label=definition.label, help_text=definition.hint, required=False, initial=current.switches[name]
            )
        self.count_names = [d.name for d in count_limits()]
        for definition in count_limits():
            self.fields[definition.name] = forms.IntegerField(
                label=definition.label,
                help_text=definition.hint,
                required=False,
                min_value=0,
                max_value=COUNT_LIMIT_MAX,
                initial=current.count_limits[definition.name],
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                error_messages={"invalid": _("Enter a whole number, or leave it empty for no limit.")},
            )
        categories = self.fields["blocked_categories"]
        assert isinstance(categories, forms.MultipleChoiceField)
        categories.choices = [
            (category.key, f"{category.label} ({category.examples})") for category in BLOCKABLE_CATEGORIES
        ]
        self.fields["blocked_categories"].initial = list(current.blocked_categories)
        self.fields["country_rule"].initial = current.country_rule
        self.fields["countries"].initial = ", ".join(current.countries)
        # Reorder: the switches, the count limits, then the rest.
        order = [*FINE_SWITCHES, *self.count_names, "blocked_categories", "country_rule", "countries"]
        self.order_fields(order)

    def switch_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.switch_names]

    def count_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.count_names]

    def settings(self) -> ControlSettings:
        """The typed controls, checked by the service's rules (ValidationFailed names the field)."""
        data = self.cleaned_data
        return control_settings_clean(
            switches={name: data[name] for name in FINE_SWITCHES},
            counts={name: data[name] for name in self.count_names},
            blocked_categories=data["blocked_categories"],
            country_rule=data["country_rule"],
            countries=data["countries"],
        )


class TemporaryRaiseForm(forms.Form):
    """New daily limits for a while: the limits left empty stay as they are."""

    minutes = forms.TypedChoiceField(
        label=_("For how long"),
        coerce=int,
        error_messages={"required": _("Choose for how long."), "invalid_choice": _("Choose for how long.")},
    )

    def __init__(self, *args: Any, card: Card, **kwargs: Any) -> None:
        from kartosfera.cards.stepup_operations import duration_text

        self.card = card
        super().__init__(*args, **kwargs)
        minutes = self.fields["minutes"]
        assert isinstance(minutes, forms.TypedChoiceField)
        minutes.choices = [(value, duration_text(value)) for value in TEMPORARY_RAISE_MINUTES]
        self.limit_names = []
        for limit in card.controls.limits:
            self.limit_names.append(limit.name)
            self.fields[limit.name] = ZlotyField(
                label=limit.label,
                required=False,
                help_text=_("Now %(amount)s, at most %(maximum)s. Leave empty to keep it.")
                % {"amount": limit.amount.format(), "maximum": limit.maximum.format()},
            )
        self.order_fields([*self.limit_names, "minutes"])

    def limits(self) -> dict[str, int]:
        return {name: self.cleaned_data[name] for name in self.limit_names if self.cleaned_data.get(name) is not None}


class WhatIfForm(forms.Form):
    """A payment to try against the card's settings, without paying (processing/what_if.py)."""

    amount = ZlotyField(label=_("Amount"), initial="50,00")
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices, initial=Currency.PLN)
    channel = forms.ChoiceField(label=_("How"))
    country = forms.CharField(
        label=_("Country of the shop or ATM"),
        max_length=2,
        min_length=2,
        initial="PL",
        help_text=_("Two-letter code, e.g. PL, DE, US."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "size": "3"}),
    )
    category = forms.ChoiceField(label=_("Kind of merchant"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from kartosfera.processing.what_if import WHAT_IF_CHANNELS, WhatIfChannel, what_if_categories

        super().__init__(*args, **kwargs)
        channel = self.fields["channel"]
        category = self.fields["category"]
        assert isinstance(channel, forms.ChoiceField) and isinstance(category, forms.ChoiceField)
        channel.choices = [(value, str(label)) for value, label in WHAT_IF_CHANNELS]
        channel.initial = WhatIfChannel.CONTACTLESS
        category.choices = [(key, label) for key, label, _mcc in what_if_categories()]
        category.initial = "groceries"

    def clean_country(self) -> str:
        from kartosfera.secure3d.services import COUNTRY_CODES

        country = str(self.cleaned_data["country"]).strip().upper()
        if country not in COUNTRY_CODES:
            raise ValidationError(_("Enter the country as a two-letter ISO code, e.g. PL."), code="country")
        return country

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if not amount:
            raise ValidationError(_("Enter an amount greater than zero."), code="zero")
        return int(amount)
