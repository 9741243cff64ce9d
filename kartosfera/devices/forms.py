from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kartosfera.devices.services import REASON_MAX_LENGTH


class PermanentBlockForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that this device will never work again and must be activated anew."),
        error_messages={"required": _("Confirm that you want to block the device for good.")},
    )


class StaffBlockForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        error_messages={"required": _("Give the reason.")},
    )
    permanently = forms.BooleanField(label=_("Block for good (the device must be activated anew)"), required=False)
