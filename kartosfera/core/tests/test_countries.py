"""Country names from ISO 3166 codes, in Polish and English (core/countries.py, docs/decisions/0012)."""

from __future__ import annotations

import pytest
from django.utils import translation

from kartosfera.core.countries import country_name


@pytest.mark.parametrize(
    ("code", "polish", "english"),
    [
        ("PL", "Polska", "Poland"),
        ("DE", "Niemcy", "Germany"),
        ("US", "Stany Zjednoczone", "United States"),
        ("GB", "Wielka Brytania", "United Kingdom"),
        ("CZ", "Czechy", "Czechia"),
        # The Polish name where an older table had only the English one.
        ("AX", "Wyspy Alandzkie", "Åland Islands"),
    ],
)
def test_a_code_is_named_in_polish_and_in_english(code, polish, english):
    assert country_name(code, "pl") == polish
    assert country_name(code, "en") == english


def test_the_active_language_is_the_default():
    with translation.override("pl"):
        assert country_name("IT") == "Włochy"
    with translation.override("en"):
        assert country_name("IT") == "Italy"


@pytest.mark.parametrize("code", ["XX", "ZZ", "de", "D", "DEU", "", "  ", "1A"])
def test_a_code_without_a_country_is_shown_as_it_came(code):
    assert country_name(code, "pl") == code.strip()


def test_an_unknown_language_falls_back_to_english():
    assert country_name("FR", "xx") == "France"
