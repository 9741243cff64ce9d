"""The statement close's text message: what to pay and by when (docs/statements.md, "The message")."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from kartosfera.core.money import Money
from kartosfera.notifications.texts import LONGEST_SMS_NAME, sms_template

# The largest amounts a credit card's statement realistically shows, and the longest date as written.
_LARGEST = Money(99_999_999_999, "PLN")

SMS_STATEMENT_CLOSED = sms_template(
    "statements.statement_closed",
    gettext_lazy(
        "%(bank)s: statement of card *%(last4)s. To pay: %(owed)s, minimum %(minimum)s by %(due)s. "
        "Details in the portal."
    ),
    examples=lambda: [
        {"bank": LONGEST_SMS_NAME, "last4": "9999", "owed": _LARGEST, "minimum": _LARGEST, "due": "31.12.2026"},
        {"bank": LONGEST_SMS_NAME, "last4": "9999", "owed": _LARGEST, "minimum": _LARGEST, "due": "12/31/2026"},
    ],
)
