"""The card PIN: the rules for a new PIN and its keyed verification value (docs/pin.md).

The PIN itself is never stored, logged or kept anywhere: the card core keeps
only the PIN verification value, HMAC-SHA256 under CARD_PIN_KEY (a key outside
the database; an HSM in a production card core) over the card's reference, its
PAN fingerprint and the PIN. Binding the value to the card means the same PIN on
two cards gives two unrelated values, and a value copied to another card is
worthless.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from kartosfera.cards.models import Card

PIN_LENGTH = 4

# Frequently chosen PINs that the other rules do not catch: patterns and dates.
# 2580 and 0852 are the middle column of the keypad, top to bottom and back.
COMMON_PINS = frozenset({"1212", "1004", "2000", "6969", "1122", "1313", "2580", "0852"})


class PinRule:
    """The codes of the refusals (ValidationError.code), one per rule."""

    FORMAT = "pin_format"
    SAME_DIGITS = "pin_same_digits"
    SEQUENCE = "pin_sequence"
    CARD_NUMBER = "pin_card_number"
    BIRTH_YEAR = "pin_birth_year"
    BIRTH_DAY = "pin_birth_day"
    COMMON = "pin_common"


def _is_run(pin: str) -> bool:
    """Digits that go up or down by one each: 1234, 4321, 0123, 9876 (no wrap-around)."""
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {-1})


def pin_check(pin: str, *, card: Card) -> None:
    """Raise ValidationError, with the reason and its code, unless ``pin`` is a good new PIN for ``card``."""
    if len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        raise ValidationError(_("The PIN must have exactly 4 digits."), code=PinRule.FORMAT)
    if len(set(pin)) == 1:
        raise ValidationError(_("The PIN cannot be one digit repeated, like 1111."), code=PinRule.SAME_DIGITS)
    if _is_run(pin):
        raise ValidationError(
            _("The PIN cannot be a run of consecutive digits, like 1234 or 4321."), code=PinRule.SEQUENCE
        )
    if pin == card.pan_last4:
        raise ValidationError(_("The PIN cannot be the last 4 digits of the card number."), code=PinRule.CARD_NUMBER)
    birth_date = card.customer.birth_date
    if birth_date is not None:
        if pin == f"{birth_date.year:04d}":
            raise ValidationError(_("The PIN cannot be your year of birth."), code=PinRule.BIRTH_YEAR)
        if pin in {f"{birth_date.day:02d}{birth_date.month:02d}", f"{birth_date.month:02d}{birth_date.day:02d}"}:
            raise ValidationError(_("The PIN cannot be your birthday (day and month)."), code=PinRule.BIRTH_DAY)
    if pin in COMMON_PINS:
        raise ValidationError(
            _("This PIN is one of the most common ones and easy to guess. Choose another one."), code=PinRule.COMMON
        )


def pin_verification_value(pin: str, *, card: Card) -> str:
    """The keyed, one-way value the card core keeps for ``pin`` on ``card`` (64 hex characters)."""
    key = settings.CARD_PIN_KEY.encode()
    # Unambiguous framing: the reference and the fingerprint never contain a NUL.
    message = "\x00".join(("kartosfera.card-pin.v1", card.reference, card.pan_fingerprint, pin)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def pin_matches(pin: str, *, card: Card) -> bool:
    """Does ``pin`` match the card's stored verification value? (Constant-time; False when none is set.)"""
    stored = card.pin_verification_value
    return bool(stored) and hmac.compare_digest(stored, pin_verification_value(pin, card=card))
