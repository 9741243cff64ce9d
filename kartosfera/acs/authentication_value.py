"""The 3-D Secure authentication value (CAVV / AAV) the ACS gives with a Y: a keyed MAC, 28 base64 characters.

HMAC-SHA256 under ``settings.ACS_AUTHENTICATION_KEY`` over what the value vouches for: the card, the amount and
its currency, the merchant, the ACS transaction id and the moment of the answer; the first 20 bytes, base64
(EMV 3DS: ``authenticationValue`` is 20 bytes, 28 characters). Changing any covered field changes the value,
so the card core can check it against the payment it comes with (services.authentication_value_verify).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid

from django.conf import settings

VALUE_BYTES = 20
VALUE_LENGTH = 28  # base64 of 20 bytes
_VERSION = "acs-av-1"


def authentication_value_compute(
    *,
    card_id: int,
    amount_minor: int,
    currency: str,
    merchant_id: str,
    acs_trans_id: uuid.UUID,
    at: dt.datetime,
) -> str:
    """The value for these fields (``currency``: ISO 4217 numeric; ``at``: aware)."""
    message = "|".join(
        [
            _VERSION,
            str(card_id),
            str(amount_minor),
            currency,
            merchant_id,
            str(acs_trans_id),
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        ]
    )
    digest = hmac.new(settings.ACS_AUTHENTICATION_KEY.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest[:VALUE_BYTES]).decode("ascii")


def values_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
