"""The text messages that tell the cardholder the 3-D Secure PIN was set or changed."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from kartosfera.notifications.texts import sms_template

SMS_THREEDS_PIN_SET = sms_template(
    "secure3d.pin.set",
    gettext_lazy("Kartosfera: your 3-D Secure code has been set. If it was not you, call your bank at once."),
)
SMS_THREEDS_PIN_CHANGED = sms_template(
    "secure3d.pin.changed",
    gettext_lazy("Kartosfera: your 3-D Secure code has been changed. If it was not you, call your bank at once."),
)
