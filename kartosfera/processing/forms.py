"""The card history's filters, shared by the portal and the back office, and the spending page's choice."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from kartosfera.processing.models import AuthorizationStatus
from kartosfera.processing.selectors import HistoryFilters
from kartosfera.processing.spending import SpendingScope


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


class SpendingForm(forms.Form):
    """The spending page's choice (GET): a month of the ones offered, and this card or the whole account."""

    month = forms.ChoiceField(
        label=_("Month"),
        required=False,
        error_messages={
            "invalid_choice": _(
                "There is no such month to show: choose the current month or one of the twelve before it. "
                "The current month is shown."
            )
        },
    )
    scope = forms.ChoiceField(
        label=_("Payments of"),
        required=False,
        error_messages={"invalid_choice": _("Choose this card or the whole account. This card is shown.")},
    )

    def __init__(self, data: Any = None, *, months: list[dt.date]) -> None:
        super().__init__(data)
        self.months = months
        month_field = cast(forms.ChoiceField, self.fields["month"])
        month_field.choices = [(month_param(month), date_format(month, "F Y")) for month in months]
        scope_field = cast(forms.ChoiceField, self.fields["scope"])
        # Both are valid for everybody (the page offers the second to the account's owner only); the selector
        # answers 404 for the whole account of somebody else's.
        scope_field.choices = [
            (SpendingScope.CARD, _("This card")),
            (SpendingScope.ACCOUNT, _("The whole account (all its cards)")),
        ]

    def chosen(self) -> tuple[dt.date, str]:
        """The month and scope asked for; the current month and this card for anything missing or invalid."""
        month, scope = self.months[0], SpendingScope.CARD
        if not self.is_bound:
            return month, scope
        self.is_valid()
        data = self.cleaned_data
        by_param = {month_param(m): m for m in self.months}
        month = by_param.get(data.get("month") or "", month)
        return month, data.get("scope") or scope


def month_param(month: dt.date) -> str:
    """A month as the page's query names it: ``YYYY-MM``."""
    return f"{month.year:04d}-{month.month:02d}"
