"""A bank's identifiers and what it shows: settlement number, NIP, REGON, KRS, SMS sender, brand colour, code."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from kartosfera.banks import validators as v


def refused(validator, value) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validator(value)
    return caught.value


# --- Settlement number (numer rozliczeniowy) -----------------------------------------------


@pytest.mark.parametrize("value", ["10100000", "10201026", "12400001", "87440001"])
def test_a_settlement_number_with_its_check_digit_passes(value):
    # 1010 0000: NBP's head office; 1020 1026: PKO BP's. The eighth digit checks the first seven.
    assert v.settlement_number_valid(value)
    v.validate_settlement_number(value)


FULL_WIDTH_DIGITS = "\uff11\uff10\uff11\uff10\uff10\uff10\uff10\uff10"


@pytest.mark.parametrize(
    "value", ["10100001", "10201027", "1010000", "101000000", "1010 000", "1010000A", "", FULL_WIDTH_DIGITS]
)
def test_a_wrong_check_digit_or_shape_is_refused(value):
    assert not v.settlement_number_valid(value)
    assert refused(v.validate_settlement_number, value).code == "invalid"


# --- NIP, REGON, KRS -----------------------------------------------------------------------


def test_a_nip_with_its_check_digit_passes():
    v.validate_nip("1234563218")


@pytest.mark.parametrize("value", ["1234563219", "123456321", "12345632181", "abcdefghij", ""])
def test_a_wrong_nip_is_refused(value):
    refused(v.validate_nip, value)


def test_a_nip_with_separators_is_refused_as_digits_are_stored():
    # python-stdnum accepts "123-456-32-18"; the database keeps ten digits only.
    with translation.override("pl"):
        assert refused(v.validate_nip, "123-456-32-18").messages == ["Wpisz NIP jako 10 cyfr bez separatorów."]


@pytest.mark.parametrize("value", ["123456785", "12345678512347"])
def test_a_nine_or_fourteen_digit_regon_with_its_check_digits_passes(value):
    v.validate_regon(value)


@pytest.mark.parametrize("value", ["123456786", "12345678512348", "12345678", "1234567851234", ""])
def test_a_wrong_regon_is_refused(value):
    refused(v.validate_regon, value)


def test_a_regon_with_separators_is_refused():
    refused(v.validate_regon, "123-456-785")


@pytest.mark.parametrize(("value", "ok"), [("0000012345", True), ("12345", False), ("000001234X", False)])
def test_a_krs_number_is_ten_digits(value, ok):
    if ok:
        v.validate_krs(value)
    else:
        refused(v.validate_krs, value)


# --- SMS sender -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["BS Lomza", "BSZambrow", "Bank-1 & Co", "A", "ABCDEFGHIJK", "B.S_Kolno"])
def test_an_alphanumeric_sender_of_up_to_11_characters_with_a_letter_passes(value):
    v.validate_sms_sender(value)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("ABCDEFGHIJKL", "12 characters"),
        ("48862155000", "digits only: networks take it for a phone number"),
        ("BS Łomża", "Polish letters are not in a sender's character set"),
        ("BS!Lomza", "punctuation outside . - _ &"),
        (" BS Lomza", "leading space"),
        ("BS Lomza ", "trailing space"),
        ("", "empty"),
    ],
)
def test_a_sender_networks_would_not_carry_is_refused(value, why):
    assert refused(v.validate_sms_sender, value).code == "invalid", why


# --- Brand colour: white text on it must meet WCAG AA (4.5:1) --------------------------------


@pytest.mark.parametrize("colour", ["#006633", "#0B4A8B", "#0b4a8b", "#000000", "#767676"])
def test_a_colour_white_text_reads_on_passes(colour):
    assert v.contrast_with_white(colour) >= v.WCAG_AA_CONTRAST
    v.validate_brand_colour(colour)


@pytest.mark.parametrize("colour", ["#FFCC00", "#FFFFFF", "#777777", "#00A0E3"])
def test_a_colour_too_light_for_white_text_is_refused_with_its_ratio(colour):
    error = refused(v.validate_brand_colour, colour)

    assert error.code == "low_contrast"
    assert error.params["ratio"] < 4.5


def test_the_contrast_is_wcags_formula():
    # Black on white is 21:1; #767676 is the darkest grey just over 4.5:1, #777777 the lightest just under.
    assert v.contrast_with_white("#000000") == pytest.approx(21.0)
    assert v.contrast_with_white("#FFFFFF") == pytest.approx(1.0)
    assert v.contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)
    assert v.contrast_with_white("#777777") == pytest.approx(4.48, abs=0.01)
    assert v.contrast_with_white("#006633") == pytest.approx(7.12, abs=0.01)
    assert v.contrast_with_white("#FFCC00") == pytest.approx(1.51, abs=0.01)


@pytest.mark.parametrize("colour", ["006633", "#063", "#00663", "#0066333", "#GG6633", "green", ""])
def test_a_colour_not_written_as_rrggbb_is_refused(colour):
    assert refused(v.validate_brand_colour, colour).code == "invalid"


# --- Bank code --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["BANK", "BS-LOMZA", "B1", "0123456789ABCDEF"])
def test_a_bank_code_passes(value):
    v.validate_bank_code(value)


@pytest.mark.parametrize("value", ["B", "bank", "-BANK", "BS LOMZA", "0123456789ABCDEFG", ""])
def test_a_wrong_bank_code_is_refused(value):
    refused(v.validate_bank_code, value)
