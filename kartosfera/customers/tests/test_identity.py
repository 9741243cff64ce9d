from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from kartosfera.customers.identity import mask_phone, normalize_phone, validate_pesel
from kartosfera.testing.factories import make_pesel

birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31))


@given(birth=birth_dates, serial=st.integers(min_value=0, max_value=4999), female=st.booleans())
@settings(max_examples=200, deadline=None)
def test_every_well_formed_pesel_is_accepted(birth, serial, female):
    pesel = make_pesel(birth, serial, female=female)
    assert validate_pesel(pesel) == pesel


@given(birth=birth_dates, serial=st.integers(min_value=0, max_value=4999), position=st.integers(0, 10))
@settings(max_examples=200, deadline=None)
def test_changing_any_single_digit_is_caught(birth, serial, position):
    pesel = make_pesel(birth, serial)
    wrong_digit = str((int(pesel[position]) + 1 + serial % 8) % 10)
    tampered = pesel[:position] + wrong_digit + pesel[position + 1 :]
    with pytest.raises(ValidationError):
        validate_pesel(tampered)


@given(st.text(max_size=15))
@settings(max_examples=300, deadline=None)
def test_arbitrary_text_never_crashes_validation(text):
    try:
        pesel = validate_pesel(text)
    except ValidationError:
        return
    assert pesel.isdigit() and len(pesel) == 11


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "pesel_format"),
        ("8503141234", "pesel_format"),  # 10 digits
        ("850314123456", "pesel_format"),  # 12 digits
        ("85O3141234S", "pesel_format"),  # letters
        ("85133112345", "pesel_birth_date"),  # month 13 encodes nothing
        ("85023012345", "pesel_birth_date"),  # 30 February
        ("44512200004", "pesel_birth_date"),  # 2244: in the future
        ("85031412344", "pesel_checksum"),
    ],
)
def test_invalid_pesels_are_refused_with_the_reason(value, code):
    with pytest.raises(ValidationError) as exc:
        validate_pesel(value)
    assert exc.value.code == code


def test_pesel_of_someone_born_in_the_2000s_is_valid():
    pesel = make_pesel(dt.date(2004, 2, 29), 17, female=True)
    assert pesel[2:4] == "22"  # months 21-32 encode the 2000s
    assert validate_pesel(pesel) == pesel


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("600 700 800", "+48600700800"), ("+48 512-345-678", "+48512345678"), ("+380 67 123 4567", "+380671234567")],
)
def test_phone_numbers_are_stored_in_e164(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12", "not a number", "+48 123", "+999 1234567"])
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


def test_masked_phone_shows_only_the_last_three_digits():
    assert mask_phone("+48600700812") == "+48 *** *** 812"
    assert "600" not in mask_phone("+48600700812")
