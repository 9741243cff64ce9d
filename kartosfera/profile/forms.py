from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kartosfera.core.errors import ValidationFailed
from kartosfera.customers.identity import normalize_phone
from kartosfera.profile.services import LOGIN_HELP_TEXT, LOGIN_MAX_LENGTH, login_validate
from kartosfera.sca.stepup import stepup_phone
from kartosfera.users.forms import CurrentPasswordForm
from kartosfera.users.passkeys import NAME_MAX_LENGTH, passkey_name_clean
from kartosfera.users.passwords import PASSWORD_HELP_TEXT, PASSWORD_MAX_LENGTH, validate_portal_password


class PasswordChangeForm(CurrentPasswordForm):
    # Spaces are part of a password (strip=False); 128 is the policy's maximum,
    # and a longer value is refused before it is ever hashed.
    new_password = forms.CharField(
        label=_("New password"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        help_text=PASSWORD_HELP_TEXT,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_repeat = forms.CharField(
        label=_("Repeat the new password"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        new = cleaned.get("new_password")
        repeat = cleaned.get("new_password_repeat")
        if new is not None:
            try:
                validate_portal_password(new, user=self.user, customer=self.user.customer)  # type: ignore[arg-type]
            except ValidationError as exc:
                self.add_error("new_password", exc)
            else:
                if repeat is not None and new != repeat:
                    self.add_error("new_password_repeat", _("The two passwords are not the same."))
        return cleaned


class OwnLoginForm(CurrentPasswordForm):
    field_order = ["login", "current_password"]
    login = forms.CharField(
        label=_("Login"),
        max_length=LOGIN_MAX_LENGTH,
        help_text=LOGIN_HELP_TEXT,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )

    def clean_login(self) -> str:
        return login_validate(self.cleaned_data["login"], user=self.user)


class PhoneChangeForm(CurrentPasswordForm):
    field_order = ["new_phone", "current_password"]
    new_phone = forms.CharField(
        label=_("New phone number"),
        max_length=32,
        help_text=_("A Polish mobile number, or any number with its country code, e.g. +44 7700 900123."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_new_phone(self) -> str:
        phone = normalize_phone(self.cleaned_data["new_phone"])
        if phone == stepup_phone(self.user):
            raise ValidationError(_("This is already the number the portal sends codes to."), code="phone_unchanged")
        return phone


class PasskeyAddForm(CurrentPasswordForm):
    """The name of the passkey to add and the current password; the authenticator's ceremony comes next."""

    field_order = ["name", "current_password"]
    name = forms.CharField(
        label=_("Name of the passkey"),
        max_length=NAME_MAX_LENGTH,
        help_text=_("So that you can tell your passkeys apart, for example: My phone, Work laptop."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_name(self) -> str:
        try:
            return passkey_name_clean(self.cleaned_data["name"])
        except ValidationFailed as exc:
            raise ValidationError(exc.field_errors.get("name", exc.message), code="passkey_name") from None


class AccessBlockForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that I will be signed out at once and that only the bank can unblock my access."),
        error_messages={"required": _("Tick the box to confirm that you want to block your access.")},
    )


class NotificationsForm(forms.Form):
    # CBPR2 (Regulation (EU) 2021/1230 Art. 4(5)): the payer may opt out of this message.
    conversion_charge_sms = forms.BooleanField(
        label=_("Send me a text message about the currency conversion charge"),
        help_text=_(
            "Once a month for each card and currency: after the first card payment or withdrawal in another "
            "European Economic Area currency than your account's, the total conversion charge as a mark-up over "
            "the European Central Bank's reference rate."
        ),
        required=False,
    )
    # Decline notices (kartosfera/notices/): the card page lists the declines whether or not this is on.
    decline_sms = forms.BooleanField(
        label=_("Send me a text message when my settings decline a payment"),
        help_text=_(
            "When a card payment is declined because of a setting of yours (a kind of payment switched off, a daily "
            "limit, a country or a kind of merchant blocked, internet payments locked): at most one message an hour "
            "per card and setting. The card's page lists these payments either way."
        ),
        required=False,
    )
