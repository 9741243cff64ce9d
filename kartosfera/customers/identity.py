"""Validation of the identifiers a customer is known by: PESEL and phone number."""

from __future__ import annotations

import datetime as dt

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.pl import pesel as stdnum_pesel

from kartosfera.core.dates import EARLIEST_DATE


def validate_pesel(value: str) -> str:
    """Return the PESEL if its format, checksum and encoded birth date are valid."""
    compact = stdnum_pesel.compact(value or "")
    if not compact.isdigit() or len(compact) != 11:
        raise ValidationError(_("PESEL must have exactly 11 digits."), code="pesel_format")
    try:
        birth_date = stdnum_pesel.get_birth_date(compact)
    except StdnumError:
        raise ValidationError(_("PESEL contains an impossible birth date."), code="pesel_birth_date") from None
    if birth_date > timezone.localdate():
        raise ValidationError(_("PESEL contains a birth date in the future."), code="pesel_birth_date")
    if birth_date < EARLIEST_DATE:
        # PESEL can encode the 1800s; nobody born then is a customer.
        raise ValidationError(_("PESEL contains an impossible birth date."), code="pesel_birth_date")
    try:
        stdnum_pesel.validate(compact)
    except StdnumError:
        raise ValidationError(_("PESEL check digit is wrong."), code="pesel_checksum") from None
    return compact


def validate_birth_date(value: dt.date) -> dt.date:
    """Return the birth date if it is plausible: from 1900-01-01 up to today."""
    if value > timezone.localdate():
        raise ValidationError(_("The birth date cannot be in the future."), code="birth_date_future")
    if value < EARLIEST_DATE:
        raise ValidationError(_("The birth date cannot be before 1900-01-01."), code="birth_date_too_early")
    return value


def pesel_birth_date(value: str) -> dt.date:
    return stdnum_pesel.get_birth_date(value)


def normalize_phone(value: str) -> str:
    """Return the number in E.164 form; numbers without a country code are Polish."""
    try:
        parsed = phonenumbers.parse(value or "", "PL")
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Enter a valid phone number."), code="phone_invalid") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(_("Enter a valid phone number."), code="phone_invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str | None) -> str:
    """Show only the country code and the last three digits: +48 *** *** 789."""
    if not e164:
        return ""
    parsed = phonenumbers.parse(e164)
    national = str(parsed.national_number)
    hidden = "*" * (len(national) - 3)
    groups = " ".join(hidden[i : i + 3] for i in range(0, len(hidden), 3))
    return f"+{parsed.country_code} {groups} {national[-3:]}".replace("  ", " ")
