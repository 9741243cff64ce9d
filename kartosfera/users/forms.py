from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

# Long enough for a PESEL (11), a bank-assigned ID (20) and an own login (64).
IDENTIFIER_MAX_LENGTH = 64
# PRODUCT.md: passwords have up to 128 characters.
PASSWORD_MAX_LENGTH = 128


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

    # One message for every failure, so that nobody can learn whether an account exists.
    INVALID_CREDENTIALS = _("The identifier or password is incorrect.")
