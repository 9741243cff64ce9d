"""The text messages that announce a change of the portal's settings to the cardholder."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from kartosfera.customers.identity import mask_phone
from kartosfera.notifications.texts import LONGEST_E164, sms_template

SMS_PASSWORD_CHANGED = sms_template(
    "users.password.changed",
    gettext_lazy("Kartosfera: your portal password has been changed. If it was not you, call your bank at once."),
)
SMS_OWN_LOGIN_CHANGED = sms_template(
    "users.own_login.changed",
    gettext_lazy(
        "Kartosfera: your own login for the portal has been changed. If it was not you, call your bank at once."
    ),
)
SMS_PHONE_CHANGED = sms_template(
    "users.phone.changed",
    gettext_lazy(
        "Kartosfera: the phone number for your portal codes has been changed to %(phone)s. "
        "If it was not you, call your bank at once."
    ),
    examples=lambda: [{"phone": mask_phone(LONGEST_E164)}],
)
