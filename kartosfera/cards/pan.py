"""The primary account number (PAN): validation, encryption and fingerprints.

The full number is stored only as a Fernet token (AES-128-CBC + HMAC-SHA256)
under the keys in CARD_DATA_KEYS; MultiFernet decrypts with any listed key and
encrypts with the first, which is what makes rotation possible. Look-ups use a
keyed HMAC-SHA256 fingerprint, so finding a card never needs decryption and the
fingerprint alone cannot be brute-forced over the small PAN space without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import luhn

from kartosfera.cards.models import Brand
from kartosfera.core import crypto

PAN_LENGTHS = range(13, 20)


def normalize_pan(value: str) -> str:
    return "".join(ch for ch in (value or "") if ch not in " -")


def validate_pan(value: str, *, brand: str | None = None) -> str:
    """Return the PAN, digits only, if its length, Luhn digit and brand prefix are right."""
    pan = normalize_pan(value)
    if not pan.isdigit() or len(pan) not in PAN_LENGTHS:
        raise ValidationError(_("A card number has 13 to 19 digits."), code="pan_format")
    if not luhn.is_valid(pan):
        raise ValidationError(_("The card number fails the Luhn check."), code="pan_luhn")
    if brand is not None and pan_brand(pan) != brand:
        raise ValidationError(_("The card number does not belong to the product's brand."), code="pan_brand")
    return pan


# Digits, possibly grouped by single spaces or dashes as people write card numbers.
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)*")


def text_has_card_number(text: str) -> bool:
    """Does free text (a note, a reason) hold something that is a full card number (13-19 digits, Luhn)?

    So that a number typed by mistake is refused instead of landing in a row or an audit log.
    """
    for match in _DIGIT_RUN.finditer(text or ""):
        digits = normalize_pan(match.group())
        if len(digits) in PAN_LENGTHS and luhn.is_valid(digits):
            return True
    return False


def pan_brand(pan: str) -> str | None:
    if pan.startswith("4"):
        return Brand.VISA
    prefix2, prefix4 = int(pan[:2]), int(pan[:4])
    if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:
        return Brand.MASTERCARD
    return None


def encrypt_pan(pan: str) -> str:
    return crypto.encrypt(pan)


def decrypt_pan(ciphertext: str) -> str:
    return crypto.decrypt(ciphertext)


def reencrypt_pan(ciphertext: str) -> str:
    """The same PAN under the current primary key (MultiFernet.rotate)."""
    return crypto.reencrypt(ciphertext)


def pan_fingerprint(pan: str) -> str:
    key = settings.CARD_FINGERPRINT_KEY.encode()
    return hmac.new(key, normalize_pan(pan).encode(), hashlib.sha256).hexdigest()
