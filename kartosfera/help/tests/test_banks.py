"""The help page gives a signed-in cardholder each of their banks' helplines and branches."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kartosfera.banks.services import branch_create
from kartosfera.core.audit import Actor
from kartosfera.testing import factories

SYSTEM = Actor.system("tests")
URL = reverse("help:index")


def join(cardholder, bank) -> None:
    """Make the cardholder a customer of ``bank`` too (the same person, one more membership)."""
    customer = cardholder.customer
    factories.customer_factory(
        bank=bank, pesel=customer.pesel, first_name=customer.first_name, last_name=customer.last_name
    )


def a_bank(code: str, **values):
    bank = factories.bank_factory(code, **values)
    branch_create(
        actor=SYSTEM, bank=bank, name=f"Centrala {code}", street="Główna 1", postal_code="18-400", city="Łomża"
    )
    return bank


def test_a_cardholder_of_two_banks_sees_each_banks_numbers_and_branches(anna, cardholder):
    join(cardholder, a_bank("BS-LOMZA", short_name="BS Łomża", helpline_phone="+48 86 216 00 00"))

    html = anna.get(URL).content.decode()

    banks = html[html.index('id="your-banks"') : html.index('id="help-contact-heading"')]
    assert "Twoje banki" in banks
    assert "BS Łomża" in banks and "BS BANK" in banks
    assert '<a href="tel:+48862160000">+48 86 216 00 00</a>' in banks
    # The default bank has no numbers of its own: the group's answer for it.
    assert '<a href="tel:+48862155000">+48 86 215 50 00</a>' in banks
    assert "Centrala BS-LOMZA" in banks
    assert "Główna 1, 18-400 Łomża" in banks


def test_a_cardholder_of_one_bank_sees_it_alone(anna, cardholder):
    a_bank("BS-OBCY", short_name="BS Obcy")

    html = anna.get(URL).content.decode()

    assert "Twój bank" in html
    assert "BS Obcy" not in html


def test_anybody_not_signed_in_sees_only_the_groups_numbers(client, cardholder):
    html = client.get(URL).content.decode()

    assert 'id="your-banks"' not in html


def test_the_number_of_queries_does_not_grow_with_the_banks(anna, cardholder, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as one_bank:
        anna.get(URL)
    for code in ("BS-A1", "BS-A2", "BS-A3"):
        join(cardholder, a_bank(code))

    with django_assert_max_num_queries(len(one_bank)):
        html = anna.get(URL).content.decode()

    assert html.count("Centrala BS-A") == 3


@pytest.mark.parametrize("language", ["pl", "en"])
def test_the_banks_section_reads_in_both_languages(anna, cardholder, language):
    anna.cookies["django_language"] = language

    html = anna.get(URL).content.decode()

    assert ("Twój bank" if language == "pl" else "Your bank") in html
