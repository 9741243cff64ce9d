"""Checks of a bank's identifiers and of what it shows: settlement number, NIP, REGON, KRS, SMS sender, colour."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.pl import nip, regon

# The 8-digit settlement number (numer rozliczeniowy) of a bank unit, as in digits 3-10 of a Polish
# IBAN: a 3-digit bank code, a 4-digit unit number and a check digit, weighted 3, 9, 7, 1, 3, 9, 7 [NBP].
_SETTLEMENT_WEIGHTS = (3, 9, 7, 1, 3, 9, 7)


def settlement_number_valid(value: str) -> bool:
    if not re.fullmatch(r"[0-9]{8}", value or ""):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:7], _SETTLEMENT_WEIGHTS, strict=True))
    return (10 - total % 10) % 10 == int(value[7])


def validate_settlement_number(value: str) -> None:
    if not settlement_number_valid(value):
        raise ValidationError(_("Enter a valid 8-digit settlement number (numer rozliczeniowy)."), code="invalid")


def validate_nip(value: str) -> None:
    try:
        nip.validate(value)
    except StdnumError:
        raise ValidationError(_("Enter a valid NIP (10 digits)."), code="invalid") from None
    if nip.compact(value) != value:
        raise ValidationError(_("Enter the NIP as 10 digits without separators."), code="invalid")


def validate_regon(value: str) -> None:
    try:
        regon.validate(value)
    except StdnumError:
        raise ValidationError(_("Enter a valid REGON (9 or 14 digits)."), code="invalid") from None
    if regon.compact(value) != value:
        raise ValidationError(_("Enter the REGON as digits without separators."), code="invalid")


def validate_krs(value: str) -> None:
    # The KRS number has no check digit: 10 digits, zero-padded [KRS].
    if not re.fullmatch(r"[0-9]{10}", value or ""):
        raise ValidationError(_("Enter the KRS number as 10 digits."), code="invalid")


# An alphanumeric SMS sender id: at most 11 characters from the GSM 03.38 basic set that networks
# carry in a sender (letters, digits, space, and . - _ &), with at least one letter, or networks
# treat it as a phone number [GSM 03.40 TP-OA, operators' sender-id rules].
SMS_SENDER_PATTERN = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 .\-_&]{1,11}")


def validate_sms_sender(value: str) -> None:
    if not SMS_SENDER_PATTERN.fullmatch(value or "") or value != value.strip():
        raise ValidationError(
            _("An SMS sender name has 1 to 11 letters, digits, spaces or . - _ &, with at least one letter."),
            code="invalid",
        )


# WCAG 2.1 SC 1.4.3: text needs a contrast ratio of at least 4.5:1 with its background.
WCAG_AA_CONTRAST = 4.5


def _channel(value: int) -> float:
    srgb = value / 255
    return srgb / 12.92 if srgb <= 0.04045 else ((srgb + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of a ``#RRGGBB`` colour."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_with_white(colour: str) -> float:
    return 1.05 / (relative_luminance(colour) + 0.05)


def validate_brand_colour(value: str) -> None:
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", value or ""):
        raise ValidationError(_("Enter the colour as #RRGGBB."), code="invalid")
    ratio = contrast_with_white(value)
    if ratio < WCAG_AA_CONTRAST:
        raise ValidationError(
            _("White text on this colour has a contrast of %(ratio).2f:1; WCAG AA needs at least 4.5:1."),
            code="low_contrast",
            params={"ratio": ratio},
        )


# A bank's code: the model's CHECK, the validator and the API's X-Bank-Code header all use this one.
BANK_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]{1,15}$"


def validate_bank_code(value: str) -> None:
    if not re.fullmatch(BANK_CODE_PATTERN, value or ""):
        raise ValidationError(
            _("A bank code has 2 to 16 capital letters, digits or hyphens, starting with a letter or digit."),
            code="invalid",
        )
