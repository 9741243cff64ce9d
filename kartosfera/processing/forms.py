"""The card history's filters, shared by the portal and the back office."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kartosfera.processing.models import AuthorizationStatus
from kartosfera.processing.selectors import HistoryFilters


class HistoryFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Every status")), *AuthorizationStatus.choices]
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> HistoryFilters:
        """The filters asked for; none while the form has errors (the page then says what is wrong)."""
        if not self.is_bound or not self.is_valid():
            return HistoryFilters()
        data = self.cleaned_data
        return HistoryFilters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            status=data["status"],
            needs_review=data.get("needs_review") == "on",
        )


class StaffHistoryFilterForm(HistoryFilterForm):
    # Advices, and payments whose clearing was flagged (over the tolerance, after a reversal).
    needs_review = forms.ChoiceField(
        label=_("Review"),
        required=False,
        choices=[("", _("Everything")), ("on", _("Only what needs review"))],
    )
