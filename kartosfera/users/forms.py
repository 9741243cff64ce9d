from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kartosfera.customers.models import Customer
from kartosfera.users.models import User
from kartosfera.users.passwords import PASSWORD_HELP_TEXT, PASSWORD_MAX_LENGTH, validate_portal_password

# Long enough for a PESEL (11), a bank-assigned ID (20) and an own login (64).
IDENTIFIER_MAX_LENGTH = 64

# Attributes of a field that takes a one-time code: the phone offers the SMS
# code from the keyboard, and nothing is saved or auto-corrected.
_ONE_TIME_CODE_ATTRS = {"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"}


class LoginForm(forms.Form):
    """Parses the sign-in form; the credentials are checked by the users service."""

    identifier = forms.CharField(
        label=_("PESEL, identification number or login"),
        max_length=IDENTIFIER_MAX_LENGTH,
        help_text=_("Non-residents enter the identification number assigned by the bank."),
        # No autofocus: it would skip the skip link and the page's heading for
        # screen-reader and keyboard users (WCAG 2.4.3).
        widget=forms.TextInput(
            attrs={
                "autocomplete": "username",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=PASSWORD_MAX_LENGTH,
        # Spaces are part of a password; stripping them would lock some people out.
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class LoginCodeForm(forms.Form):
    """The 6-digit SMS code of the second sign-in step."""

    code = forms.CharField(
        label=_("SMS code"),
        help_text=_("6 digits from the text message."),
        max_length=12,  # room for spaces people type between the digits
        widget=forms.TextInput(attrs={**_ONE_TIME_CODE_ATTRS, "inputmode": "numeric"}),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            raise ValidationError(_("Enter the 6 digits of the code."), code="code_format")
        return code


class RegistrationIdentifierForm(forms.Form):
    """Step 1 of registration: who is registering."""

    identifier = forms.CharField(
        label=_("PESEL or identification number"),
        max_length=IDENTIFIER_MAX_LENGTH,
        help_text=_("Residents enter their PESEL; non-residents the identification number assigned by the bank."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


class ActivationPasswordForm(forms.Form):
    """Step 3 of registration: the activation password from the SMS."""

    activation_password = forms.CharField(
        label=_("Activation password"),
        help_text=_("10 letters and digits from the text message; upper or lower case, as you like."),
        max_length=32,
        widget=forms.TextInput(attrs={**_ONE_TIME_CODE_ATTRS}),
    )


class SetPasswordForm(forms.Form):
    """Step 4 of registration: the user's own password, typed twice."""

    new_password = forms.CharField(
        label=_("New password"),
        help_text=PASSWORD_HELP_TEXT,
        # The policy's own message says "too long"; the field's limit only stops absurd input.
        max_length=PASSWORD_MAX_LENGTH * 4,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label=_("Repeat the new password"),
        max_length=PASSWORD_MAX_LENGTH * 4,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, customer: Customer, user: User | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.user = user

    def clean_new_password(self) -> str:
        password: str = self.cleaned_data["new_password"]
        validate_portal_password(password, user=self.user, customer=self.customer)
        return password

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("new_password"), cleaned.get("new_password_again")
        if first is not None and second is not None and first != second:
            self.add_error("new_password_again", _("The two passwords are different."))
        return cleaned


class CurrentPasswordForm(forms.Form):
    """The signed-in user's current password, asked again before a change of how they authenticate.

    [ASVS 5.0 7.5.1] A new password, portal phone, own login or BS Pay device needs both factors anew: this
    password and then the SMS code of the step-up. Views that use it share one rate limit
    (``ratelimits.REAUTHENTICATION_RATE``), or each would be a password-guessing oracle for whoever holds a session.
    """

    current_password = forms.CharField(
        label=_("Current password"),
        # Spaces are part of a password (strip=False); 128 is the policy's maximum.
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_current_password(self) -> str:
        password: str = self.cleaned_data["current_password"]
        if not self.user.check_password(password):
            raise ValidationError(_("The current password is not correct."), code="password_incorrect")
        return password
