from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class PermanentBlockForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that this device will never work again and must be activated anew."),
        error_messages={"required": _("Confirm that you want to block the device for good.")},
    )
