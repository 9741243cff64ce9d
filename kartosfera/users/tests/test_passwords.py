"""The portal password policy (kartosfera.users.passwords), shared by registration and the password change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from kartosfera.testing import factories
from kartosfera.users.models import User
from kartosfera.users.passwords import validate_portal_password


@pytest.fixture
def customer(db):
    return factories.customer_factory(
        first_name="Łucja",
        last_name="Wiśniewska-Nowak",
        pesel=factories.make_pesel(dt.date(1984, 2, 29), 512, female=True),
    )


def _codes(password: str, **kwargs) -> set[str]:
    try:
        validate_portal_password(password, **kwargs)
    except ValidationError as exc:
        return {error.code for error in exc.error_list}
    return set()


@pytest.mark.parametrize(
    "password",
    [
        "Ćma nad łąką o zmierzchu",  # Polish letters and spaces
        "correct horse battery staple",  # no digits, no capitals: no composition rules
        "zażółć gęślą jaźń",
        "1234567890a!",
        "🐝🐝🐝 pszczoły w ulu",
        "x" * 128,
        "bardzo dlugie  haslo",  # two spaces in a row are kept
    ],
)
def test_any_characters_are_allowed_without_composition_rules(customer, password):
    assert _codes(password, customer=customer) == set()


def test_at_least_ten_characters(customer):
    assert _codes("ńę9ąśćżź", customer=customer) == {"password_too_short"}
    assert _codes("ńę9ąśćżźłó", customer=customer) == set()


def test_at_most_128_characters(customer):
    assert _codes("x" * 129, customer=customer) == {"password_too_long"}


@pytest.mark.parametrize("password", ["password123", "qwertyuiop", "1234567890", "iloveyou12"])
def test_common_passwords_are_refused(customer, password):
    assert "password_too_common" in _codes(password, customer=customer)


def test_the_pesel_is_refused_anywhere_in_the_password(customer):
    assert _codes(f"moje-{customer.pesel}-haslo", customer=customer) == {"password_personal"}


def test_the_bank_assigned_id_is_refused_in_any_case(db):
    customer = factories.customer_factory(residency="non_resident", nonresident_id="NR00000555")

    assert _codes("haslo-nr00000555!", customer=customer) == {"password_personal"}


@pytest.mark.parametrize("password", ["LUCJA-kocha-koty", "lucja kocha koty", "nowak to ja 1984", "wisniewska-w-lesie"])
def test_the_name_is_refused_in_any_case_and_without_diacritics(customer, password):
    assert _codes(password, customer=customer) == {"password_personal"}


def test_the_own_login_is_refused(customer):
    user = factories.cardholder_user_factory(customer=customer, login="zielony.kot")

    assert _codes("moj zielony.kot ma 3 lata", customer=customer, user=user) == {"password_personal"}


def test_the_current_password_is_refused_and_nothing_is_written(customer):
    user = factories.cardholder_user_factory(customer=customer, password="Stare hasło do portalu")
    stored = User.objects.get(pk=user.pk).password

    assert _codes("Stare hasło do portalu", customer=customer, user=user) == {"password_unchanged"}
    assert User.objects.get(pk=user.pk).password == stored


def test_every_reason_is_given_at_once(customer):
    assert _codes("Łucja", customer=customer) == {"password_too_short", "password_personal"}


def test_messages_are_translated_and_never_contain_the_password(customer):
    with pytest.raises(ValidationError) as exc:
        validate_portal_password("haslo", customer=customer)

    with translation.override("pl"):
        polish = exc.value.messages
    with translation.override("en"):
        english = exc.value.messages
    assert "Hasło jest za krótkie: musi mieć co najmniej 10 znaków." in polish
    assert "The password is too short: it needs at least 10 characters." in english
    assert not any("haslo" in message for message in polish + english)
