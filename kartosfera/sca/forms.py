from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _

_CODE = re.compile(r"^[0-9]{6}$")


class CodeField(forms.CharField):
    """A 6-digit SMS code; spaces people type in between are ignored."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 12)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "inputmode": "numeric",
                    "autocomplete": "one-time-code",
                    "pattern": "[0-9 ]*",
                    "class": "input--code",
                }
            ),
        )
        kwargs.setdefault("error_messages", {"required": _("Enter the 6-digit code from the SMS.")})
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        code = "".join(str(super().clean(value)).split())
        if not _CODE.match(code):
            raise forms.ValidationError(_("The code has 6 digits."), code="code_format")
        return code


class ConfirmForm(forms.Form):
    """The code(s) for a step-up confirmation; only the pending challenges ask for one."""

    code = CodeField(label=_("SMS code"))
    verification_code = CodeField(label=_("SMS code sent to the new number"))

    def __init__(
        self,
        *args: Any,
        code_phone: str | None,
        verification_phone: str | None = None,
        **kwargs: Any,
    ) -> None:
        """``code_phone``/``verification_phone``: the masked numbers still waiting for a code (None: not asked)."""
        super().__init__(*args, **kwargs)
        if code_phone is None:
            del self.fields["code"]
        else:
            self.fields["code"].help_text = _("Sent to %(phone)s.") % {"phone": code_phone}
            if verification_phone is not None:
                self.fields["code"].label = _("SMS code sent to your current number")
        if verification_phone is None:
            del self.fields["verification_code"]
        else:
            self.fields["verification_code"].help_text = _("Sent to %(phone)s.") % {"phone": verification_phone}

    def show_errors(self, errors: Mapping[str, str]) -> None:
        """Show the errors of codes already checked on this (unbound) form: a used code is never shown back."""
        self._errors = ErrorDict({name: self.error_class([msg]) for name, msg in errors.items() if name in self.fields})
