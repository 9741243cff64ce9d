from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kartosfera.cards.pin import PIN_LENGTH
from kartosfera.core.errors import ValidationFailed
from kartosfera.customers.models import Customer
from kartosfera.secure3d.services import (
    MERCHANT_ID_MAX_LENGTH,
    MERCHANT_NAME_MAX_LENGTH,
    threeds_pin_validate,
    trusted_merchant_clean,
)

_PIN_ATTRS = {"autocomplete": "off", "inputmode": "numeric", "pattern": "[0-9]*", "maxlength": str(PIN_LENGTH)}


class ThreeDSPinForm(forms.Form):
    pin = forms.CharField(
        label=_("New 3-D Secure code"),
        max_length=PIN_LENGTH,
        strip=False,
        help_text=_(
            "4 digits, different from the PIN of each of your cards. Not one digit repeated, not a run such as "
            "1234, not your card's last 4 digits, your year of birth or birthday, nor a common code such as 2580."
        ),
        widget=forms.PasswordInput(attrs=_PIN_ATTRS, render_value=False),
    )
    pin_repeat = forms.CharField(
        label=_("Repeat the 3-D Secure code"),
        max_length=PIN_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs=_PIN_ATTRS, render_value=False),
    )

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        self.customer = customer
        super().__init__(*args, **kwargs)

    def clean_pin(self) -> str:
        return threeds_pin_validate(self.cleaned_data["pin"], customer=self.customer)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        pin, repeat = cleaned.get("pin"), cleaned.get("pin_repeat")
        if pin is not None and repeat is not None and pin != repeat:
            self.add_error("pin_repeat", _("The two codes are not the same."))
        return cleaned


class ExemptionForm(forms.Form):
    enabled = forms.TypedChoiceField(
        choices=[("on", "on"), ("off", "off")], coerce=lambda value: value == "on", widget=forms.HiddenInput
    )


class TrustedMerchantForm(forms.Form):
    name = forms.CharField(label=_("Merchant's name"), max_length=MERCHANT_NAME_MAX_LENGTH)
    merchant_id = forms.CharField(
        label=_("Merchant ID"),
        max_length=MERCHANT_ID_MAX_LENGTH,
        help_text=_("As shown on your statement or by the merchant."),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        help_text=_("Two-letter code, e.g. PL, DE."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false", "size": "2"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        fields = {key: cleaned.get(key, "") for key in ("name", "merchant_id", "country")}
        try:
            cleaned.update(trusted_merchant_clean(**fields))
        except ValidationFailed as exc:
            for field, message in exc.field_errors.items():
                if field not in self.errors:
                    self.add_error(field, ValidationError(message))
        return cleaned
