from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kartosfera.acs.challenge import CODE_LENGTH
from kartosfera.cards.pin import PIN_LENGTH


class _CodeInput(forms.TextInput):
    """A text field that never renders its value back: a code is typed again, from the SMS, not echoed."""

    def format_value(self, value: object) -> None:
        return None


class ChallengeAnswerForm(forms.Form):
    """The 3DS PIN and the SMS code; neither is ever rendered back (render_value=False, no value on the code)."""

    pin = forms.CharField(
        label=_("3-D Secure code"),
        max_length=PIN_LENGTH,
        min_length=PIN_LENGTH,
        strip=False,
        help_text=_("The 4 digits you set in the portal for internet payments (not your card PIN)."),
        widget=forms.PasswordInput(
            attrs={"autocomplete": "off", "inputmode": "numeric", "pattern": "[0-9]*", "maxlength": str(PIN_LENGTH)},
            render_value=False,
        ),
        error_messages={
            "required": _("Enter your 3-D Secure code."),
            "min_length": _("The 3-D Secure code has 4 digits."),
            "max_length": _("The 3-D Secure code has 4 digits."),
        },
    )
    code = forms.CharField(
        label=_("SMS code"),
        max_length=CODE_LENGTH,
        min_length=CODE_LENGTH,
        help_text=_("The 6 digits from the text message: check that it names this shop and this amount."),
        widget=_CodeInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]*",
                "maxlength": str(CODE_LENGTH),
            }
        ),
        error_messages={
            "required": _("Enter the code from the text message."),
            "min_length": _("The SMS code has 6 digits."),
            "max_length": _("The SMS code has 6 digits."),
        },
    )

    def clean_pin(self) -> str:
        pin: str = self.cleaned_data["pin"]
        if not (pin.isascii() and pin.isdigit()):
            raise forms.ValidationError(_("The 3-D Secure code has 4 digits."))
        return pin

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        if not (code.isascii() and code.isdigit()):
            raise forms.ValidationError(_("The SMS code has 6 digits."))
        return code
