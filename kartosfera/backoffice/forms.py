from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kartosfera.backoffice.models import IdentityDocument, VerificationChannel
from kartosfera.core.audit_actions import AuditKind
from kartosfera.processing.reviews import REVIEW_NOTE_MAX_LENGTH, ReviewState
from kartosfera.users.passwords import PASSWORD_MAX_LENGTH


class StaffLoginForm(forms.Form):
    username = forms.CharField(
        label=_("User name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class StaffCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the authenticator app"),
        max_length=10,
        help_text=_("6 digits; a new code every 30 seconds."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class StaffPasskeyConfirmForm(forms.Form):
    """Confirm it is the member before a change of their passkeys: the authenticator app's code."""

    code = forms.CharField(
        label=_("Code from the authenticator app"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class StaffPasskeyAddForm(forms.Form):
    """A new passkey: its name (the browser adds the signed answer, ``credential``)."""

    name = forms.CharField(
        label=_("Name of the passkey"),
        max_length=64,
        help_text=_("For example the device or security key it is on."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    credential = forms.CharField(required=False, max_length=20_000, widget=forms.HiddenInput)


class StaffPasskeyOnlyForm(forms.Form):
    enabled = forms.BooleanField(required=False)


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Find a customer"),
        max_length=100,
        help_text=_(
            "PESEL, bank customer number, identification number, name, phone number or last 4 digits of a card."
        ),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class VerificationForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("How is the customer in contact?"), choices=VerificationChannel.choices, widget=forms.RadioSelect
    )
    identifier = forms.CharField(
        label=_("PESEL or identification number the customer gives"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    birth_date = forms.DateField(
        label=_("Date of birth the customer gives"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "off"}),
    )
    card_last4 = forms.RegexField(
        label=_("Last 4 digits of a card the customer gives"),
        regex=r"^[0-9]{4}$",
        required=False,
        error_messages={"invalid": _("Enter 4 digits.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": "4"}),
    )
    calling_number = forms.CharField(
        label=_("Number the customer calls from"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    document_type = forms.ChoiceField(
        label=_("Identity document checked (at a branch)"),
        choices=[("", _("None")), *IdentityDocument.choices],
        required=False,
    )

    def verification_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "channel": data["channel"],
            "identifier": data.get("identifier") or "",
            "birth_date": data.get("birth_date"),
            "card_last4": data.get("card_last4") or "",
            "calling_number": data.get("calling_number") or "",
            "document_type": data.get("document_type") or "",
        }


class ActivityFilterForm(forms.Form):
    staff = forms.TypedChoiceField(label=_("Staff member"), required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(label=_("Action"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(
        self, *args: Any, staff_choices: list[tuple[Any, str]], action_choices: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        staff_field = self.fields["staff"]
        action_field = self.fields["action"]
        assert isinstance(staff_field, forms.ChoiceField) and isinstance(action_field, forms.ChoiceField)
        staff_field.choices = [("", _("Everybody")), *staff_choices]
        action_field.choices = [("", _("Every action")), *action_choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class TrailFilterForm(forms.Form):
    """The customer's trail by kind (the kinds of the audit-action registry)."""

    kind = forms.ChoiceField(
        label=_("Kind of event"),
        required=False,
        choices=[("", _("Every kind")), *AuditKind.choices],
    )


class ReviewQueueFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("Show"), required=False, choices=ReviewState.choices)

    def state_value(self) -> str:
        """The state asked for; the payments not yet reviewed when none (or a wrong one) is asked for."""
        if self.is_bound and self.is_valid() and self.cleaned_data["state"]:
            return str(self.cleaned_data["state"])
        return ReviewState.TO_REVIEW


class AuthorizationReviewForm(forms.Form):
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=REVIEW_NOTE_MAX_LENGTH,
        help_text=_("What you checked or decided; never a card number."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class _NewPasswordForm(forms.Form):
    """A new staff password typed twice (the staff policy is the service's: backoffice/passwords.py)."""

    new_password = forms.CharField(
        label=_("New password"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        help_text=_("At least 12 characters; not a common password, not your user name or name."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_repeat = forms.CharField(
        label=_("Repeat the new password"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    code = forms.CharField(
        label=_("Code from the authenticator app"),
        max_length=10,
        help_text=_("6 digits; a new code every 30 seconds."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        new, repeat = data.get("new_password"), data.get("new_password_repeat")
        if new is not None and repeat is not None and new != repeat:
            self.add_error("new_password_repeat", _("The two passwords are not the same."))
        return data


class StaffPasswordChangeForm(_NewPasswordForm):
    """The signed-in staff member's own password: the current one, the new one twice, the current code."""

    field_order = ["current_password", "new_password", "new_password_repeat", "code"]
    current_password = forms.CharField(
        label=_("Current password"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, code_allowed: bool = True, **kwargs: Any) -> None:
        """``code_allowed`` False: the member signs in with a passkey only, so the code confirms nothing; the
        change is confirmed by the passkey on the same page (``accounts.staff_password_change``)."""
        super().__init__(*args, **kwargs)
        if not code_allowed:
            del self.fields["code"]


class StaffEnrolmentForm(_NewPasswordForm):
    """The enrolment link's form: the member's own new password and the first code of the new authenticator."""


class StaffAccountForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("Why, in a few words (for a reset: how HR confirmed who the person is)."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
