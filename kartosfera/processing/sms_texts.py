"""The card core's text messages: the CBPR2 message about a payment's currency conversion charge."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from kartosfera.notifications.texts import LONGEST_SMS_NAME, sms_template

# Regulation (EU) 2021/1230 Art. 4(5): on the first payment in a month in another EEA currency, the
# total currency conversion charge as a percentage mark-up over the ECB's reference rate, and how
# to stop these messages (processing/cbpr2.py). It names the card's bank, whose sender it comes from.
# The mark-up comes written in the message's language.
SMS_CONVERSION_CHARGE = sms_template(
    "processing.conversion_charge",
    gettext_lazy(
        "%(bank)s: card *%(last4)s paid in %(currency)s. Total currency conversion charge: %(markup)s%% "
        "over the ECB reference rate. Turn these texts off in portal Settings."
    ),
    examples=lambda: [
        {"bank": LONGEST_SMS_NAME, "last4": "9999", "currency": "HUF", "markup": "-100.00"},
        {"bank": LONGEST_SMS_NAME, "last4": "9999", "currency": "HUF", "markup": "-100,00"},
        {"bank": LONGEST_SMS_NAME, "last4": "9999", "currency": "HUF", "markup": "1,000.00"},
    ],
)
