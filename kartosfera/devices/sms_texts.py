"""The text messages of BS Pay devices: a changed app PIN is announced to the holder's code phone."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from kartosfera.notifications.texts import sms_template

SMS_APP_PIN_CHANGED = sms_template(
    "devices.pin.changed",
    gettext_lazy(
        "Kartosfera: the PIN of your BS Pay app was changed. If it was not you, block the app in the portal "
        "or call your bank at once."
    ),
)
