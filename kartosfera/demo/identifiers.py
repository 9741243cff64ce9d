"""Valid but fictitious identifiers for the demo bank and the tests: PESEL, card number, IBAN.

Production code (the demo) and the test factories share these, so they live
here rather than in ``kartosfera.testing``, which production code never imports.
"""

from __future__ import annotations

import datetime as dt

from stdnum import iban as stdnum_iban
from stdnum import luhn

# Test BINs: numbers in these ranges are Luhn-valid but belong to no real card.
VISA_TEST_PREFIX = "400000"
MASTERCARD_TEST_PREFIX = "555555"

# A fictitious cooperative bank's sort code (numer rozliczeniowy): bank 8999,
# branch 000; its eighth digit is the sort code's own check digit.
DEMO_SORT_CODE_BODY = "8999000"


def make_pesel(birth: dt.date, serial: int, female: bool = False) -> str:
    """A PESEL with a valid checksum for ``birth``; ``serial`` keeps numbers distinct."""
    month_offset = {1800: 80, 1900: 0, 2000: 20, 2100: 40, 2200: 60}[birth.year // 100 * 100]
    serial3 = serial % 1000
    # The tenth digit encodes the sex: even for women, odd for men.
    sex_digit = (serial // 1000) % 5 * 2 + (0 if female else 1)
    digits = f"{birth.year % 100:02d}{birth.month + month_offset:02d}{birth.day:02d}{serial3:03d}{sex_digit}"
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    check = (10 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 10) % 10
    return digits + str(check)


def make_pan(prefix: str, serial: int, length: int = 16) -> str:
    """A Luhn-valid card number: ``prefix`` (a test BIN) + serial + check digit."""
    body = f"{prefix}{serial:0{length - len(prefix) - 1}d}"
    return body + luhn.calc_check_digit(body)


def sort_code(body: str = DEMO_SORT_CODE_BODY) -> str:
    """The eight-digit Polish sort code: seven digits plus their weighted check digit."""
    weights = (3, 9, 7, 1, 3, 9, 7)
    check = (10 - sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 10) % 10
    return body + str(check)


def make_iban(serial: int, bank_sort_code: str | None = None) -> str:
    """A valid Polish IBAN (PLkk + sort code + 16-digit account number), compact form."""
    bban = f"{bank_sort_code or sort_code()}{serial:016d}"
    return f"PL{stdnum_iban.calc_check_digits(f'PL00{bban}')}{bban}"
