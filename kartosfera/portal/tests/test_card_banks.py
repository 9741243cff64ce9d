"""Every card names its issuing bank (logo and short name); its page gives that bank's helplines and branches."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kartosfera.banks.logos import bank_logo_set
from kartosfera.banks.services import branch_create
from kartosfera.banks.tests.logos import HARMLESS_SVG, png_bytes
from kartosfera.core.audit import Actor
from kartosfera.testing import factories

SYSTEM = Actor.system("tests")
LIST_URL = reverse("portal:card_list")


@pytest.fixture
def lomza(db):
    """A second bank with its own helplines, a logo and a branch."""
    bank = factories.bank_factory(
        "BS-LOMZA",
        name="Bank Spółdzielczy w Łomży",
        short_name="BS Łomża",
        helpline_phone="+48 86 216 00 00",
        card_blocking_phone="+48 86 216 00 99",
    )
    branch_create(
        actor=SYSTEM,
        bank=bank,
        name="Oddział Łomża Rynek",
        street="Stary Rynek 14",
        postal_code="18-400",
        city="Łomża",
        phone="+48 86 216 01 00",
        opening_hours="pon.-pt. 8:00-16:00",
    )
    return bank_logo_set(actor=SYSTEM, bank=bank, data=png_bytes(), content_type="image/png")


@pytest.fixture
def two_banks_cards(cardholder, lomza):
    """Anna's card of the default bank (with an SVG logo, no own helplines) and her card of BS Łomża."""
    home = bank_logo_set(actor=SYSTEM, bank=factories.bank_factory(), data=HARMLESS_SVG, content_type="image/svg+xml")
    customer = cardholder.customer
    # Anna becomes BS Łomża's customer too: the same person, a second membership.
    factories.customer_factory(
        bank=lomza, pesel=customer.pesel, first_name=customer.first_name, last_name=customer.last_name
    )
    home_card = factories.card_factory(customer=customer, product=factories.product_factory(bank=home))
    lomza_card = factories.card_factory(customer=customer, product=factories.product_factory(bank=lomza))
    return home_card, lomza_card


def img(bank) -> str:
    return f'<img class="bank-name__logo" src="{bank.logo_url}" alt="{bank.name}" height="24">'


def test_the_card_list_names_each_cards_bank_with_its_logo(anna, two_banks_cards):
    home_card, lomza_card = two_banks_cards

    html = anna.get(LIST_URL).content.decode()

    tiles = re.findall(r'<li class="card-tile .*?</li>', html, re.DOTALL)
    assert len(tiles) == 2
    by_card = {
        card.pk: next(t for t in tiles if reverse("portal:card_detail", args=[card.pk]) in t)
        for card in two_banks_cards
    }
    assert img(lomza_card.bank) in by_card[lomza_card.pk]
    assert "BS Łomża" in by_card[lomza_card.pk]
    assert img(home_card.bank) in by_card[home_card.pk]
    assert home_card.bank.short_name in by_card[home_card.pk]
    assert "BS Łomża" not in by_card[home_card.pk]


def test_a_bank_without_a_logo_is_named_without_an_image(anna, cardholder):
    factories.card_factory(customer=cardholder.customer)

    html = anna.get(LIST_URL).content.decode()

    assert "bank-name__logo" not in html
    assert '<span class="bank-name__text bank-badge" data-bank="BANK">BS BANK</span>' in html


def test_the_card_list_query_count_stays_the_same_with_cards_of_two_banks(
    anna, cardholder, lomza, django_assert_max_num_queries
):
    factories.card_factory(customer=cardholder.customer)
    with CaptureQueriesContext(connection) as one_bank:
        anna.get(LIST_URL)
    customer = cardholder.customer
    factories.customer_factory(bank=lomza, pesel=customer.pesel, first_name="Anna", last_name="Nowak")
    for _ in range(3):
        factories.card_factory(customer=customer, product=factories.product_factory(bank=lomza))

    with django_assert_max_num_queries(len(one_bank)):
        response = anna.get(LIST_URL)

    assert response.content.decode().count("BS Łomża") == 3


def test_the_card_page_names_the_bank_and_gives_its_helplines_and_branches(anna, two_banks_cards):
    _, lomza_card = two_banks_cards

    html = anna.get(reverse("portal:card_detail", args=[lomza_card.pk])).content.decode()

    assert img(lomza_card.bank) in html
    contact = html[html.index('id="bank-contact"') :]
    assert "Bank Spółdzielczy w Łomży" in contact
    assert '<a href="tel:+48862160000">+48 86 216 00 00</a>' in contact
    assert '<a href="tel:+48862160099">+48 86 216 00 99</a>' in contact
    assert "Oddział Łomża Rynek" in contact
    assert "Stary Rynek 14, 18-400 Łomża" in contact
    assert '<a href="tel:+48862160100">+48 86 216 01 00</a>' in contact
    assert "pon.-pt. 8:00-16:00" in contact


def test_the_card_page_of_a_bank_without_own_helplines_gives_the_groups(anna, two_banks_cards):
    home_card, _ = two_banks_cards

    html = anna.get(reverse("portal:card_detail", args=[home_card.pk])).content.decode()

    contact = html[html.index('id="bank-contact"') :]
    assert '<a href="tel:+48862155000">+48 86 215 50 00</a>' in contact
    assert '<a href="tel:+48862155050">+48 86 215 50 50</a>' in contact
    assert "Oddział Łomża Rynek" not in html


def test_a_bank_blocked_cards_page_sends_the_cardholder_to_its_banks_helpline(anna, two_banks_cards):
    from kartosfera.cards.operations_services import card_activate, card_block_temporarily

    _, lomza_card = two_banks_cards
    card_activate(actor=SYSTEM, card=lomza_card)
    card_block_temporarily(actor=SYSTEM, card=lomza_card)  # a system actor blocks for the bank

    html = anna.get(reverse("portal:card_detail", args=[lomza_card.pk])).content.decode()

    note = html[html.index('id="bank-block-note"') :]
    assert '<a href="tel:+48862160000">+48 86 216 00 00</a>' in note[: note.index("</p>")]
