"""The text messages of signing in and registering: the lock and a password set by registering again."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from kartosfera.notifications.texts import LONGEST_DATETIME, LONGEST_PHONE_DISPLAY, LONGEST_SMS_NAME, sms_template

SMS_ACCESS_LOCKED = sms_template(
    "users.locked",
    gettext_lazy(
        "%(bank)s: after 3 wrong passwords your portal access is locked until %(until)s. "
        "To unlock it sooner, call %(helpline)s or visit a branch."
    ),
    # The person's bank and its helpline when they are the customer of one bank only; else the group's.
    examples=lambda: [{"bank": LONGEST_SMS_NAME, "until": LONGEST_DATETIME, "helpline": LONGEST_PHONE_DISPLAY}],
)
SMS_PASSWORD_SET_BY_REGISTRATION = sms_template(
    "users.registration.password_set",
    gettext_lazy(
        "Kartosfera: a new password for the portal was set by registering again. "
        "If it was not you, call your bank at once."
    ),
)
SMS_PASSKEY_ADDED = sms_template(
    "users.passkey.added",
    gettext_lazy("Kartosfera: a passkey was added for signing in to your portal. If it was not you, call your bank."),
)
SMS_PASSKEY_REMOVED = sms_template(
    "users.passkey.removed",
    gettext_lazy("Kartosfera: a passkey was removed from your portal. If it was not you, call your bank at once."),
)
