from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from kartosfera.cards.models import Brand
from kartosfera.cards.pan import decrypt_pan, encrypt_pan, pan_brand, pan_fingerprint, validate_pan
from kartosfera.testing.factories import make_pan

visa_bodies = st.integers(min_value=0, max_value=10**9 - 1)


@given(serial=visa_bodies)
@settings(max_examples=200, deadline=None)
def test_every_luhn_valid_number_is_accepted(serial):
    pan = make_pan("400000", serial)
    assert validate_pan(pan, brand=Brand.VISA) == pan


@given(serial=visa_bodies, position=st.integers(0, 15), delta=st.integers(1, 9))
@settings(max_examples=200, deadline=None)
def test_a_single_mistyped_digit_fails_the_luhn_check(serial, position, delta):
    pan = make_pan("400000", serial)
    mistyped = pan[:position] + str((int(pan[position]) + delta) % 10) + pan[position + 1 :]
    with pytest.raises(ValidationError) as exc:
        validate_pan(mistyped)
    assert exc.value.code == "pan_luhn"


@given(st.text(max_size=25))
@settings(max_examples=300, deadline=None)
def test_arbitrary_text_is_either_a_valid_number_or_refused(text):
    try:
        pan = validate_pan(text)
    except ValidationError:
        return
    assert pan.isdigit() and luhn.is_valid(pan)


@pytest.mark.parametrize("value", ["", "4000", "4" * 20, "4000 0000 0000 000a"])
def test_numbers_of_the_wrong_shape_are_refused(value):
    with pytest.raises(ValidationError) as exc:
        validate_pan(value)
    assert exc.value.code == "pan_format"


def test_spaces_and_dashes_are_ignored():
    pan = make_pan("555555", 42)
    spaced = " ".join(pan[i : i + 4] for i in range(0, 16, 4))
    assert validate_pan(spaced, brand=Brand.MASTERCARD) == pan


def test_a_number_of_another_brand_is_refused():
    with pytest.raises(ValidationError) as exc:
        validate_pan(make_pan("555555", 1), brand=Brand.VISA)
    assert exc.value.code == "pan_brand"


@pytest.mark.parametrize(
    ("prefix", "brand"), [("4", Brand.VISA), ("51", Brand.MASTERCARD), ("2221", Brand.MASTERCARD), ("6011", None)]
)
def test_brand_is_read_from_the_prefix(prefix, brand):
    assert pan_brand(make_pan(prefix, 7)) == brand


def test_encryption_round_trips_and_is_not_deterministic():
    pan = make_pan("400000", 123)
    first, second = encrypt_pan(pan), encrypt_pan(pan)
    assert first != second  # random IV: equal numbers are not visible as equal ciphertexts
    assert pan not in first
    assert decrypt_pan(first) == decrypt_pan(second) == pan


def test_a_ciphertext_cannot_be_read_without_the_key():
    ciphertext = encrypt_pan(make_pan("400000", 5))
    with override_settings(CARD_DATA_KEYS=[Fernet.generate_key().decode()]), pytest.raises(InvalidToken):
        decrypt_pan(ciphertext)


def test_the_fingerprint_is_keyed():
    pan = make_pan("400000", 5)
    with override_settings(CARD_FINGERPRINT_KEY="one-key-one-key-one-key-one-key"):
        first = pan_fingerprint(pan)
    with override_settings(CARD_FINGERPRINT_KEY="two-key-two-key-two-key-two-key"):
        second = pan_fingerprint(pan)
    assert first != second
    assert pan_fingerprint(pan) == pan_fingerprint(pan)


@pytest.mark.django_db
def test_the_card_number_is_nowhere_in_clear_in_the_database(card):
    """Scan every text column of every table for the full number."""
    pan = decrypt_pan(card.pan_ciphertext)
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = connection.introspection.get_table_description(cursor, table)
            for column in columns:
                quoted_table = connection.ops.quote_name(table)
                quoted_column = connection.ops.quote_name(column.name)
                cursor.execute(f"SELECT {quoted_column} FROM {quoted_table}")  # noqa: S608 - introspected names
                for (value,) in cursor.fetchall():
                    if value is not None and pan in str(value):
                        found.append(f"{table}.{column.name}")
    assert found == []
