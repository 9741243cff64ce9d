"""A group of banks in a real browser: a person with cards of two banks, and a branch employee's view.

Every page passes axe-core and the CSP check; the staff boundary (bank secrecy) holds in the
browser as in the view tests: a branch employee of one bank sees only that bank's part of a
shared customer and gets the 404 page for another bank's customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from kartosfera.banks.logos import bank_logo_set
from kartosfera.banks.models import Bank
from kartosfera.cards.models import Brand, Card
from kartosfera.cards.operations_services import card_activate
from kartosfera.customers.models import Customer, Residency
from kartosfera.customers.services import customer_create
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_person_create
from tests.browser.conftest import PageChecks
from tests.browser.helpers import sign_in, staff_sign_in

OTHER_LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40" width="120" height="40">'
    b'<rect width="120" height="40" fill="#1d4e89"/><circle cx="20" cy="20" r="12" fill="#ffffff"/></svg>'
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@dataclass
class TwoBanks:
    home: Bank  # the tests' default bank: Anna's first bank and the branch employee's
    other: Bank
    home_card: Card
    other_card: Card
    other_only: Customer  # a customer of the other bank alone


@pytest.fixture
def two_banks(cardholder: Any) -> TwoBanks:
    """Anna with a card at each of two banks; Bartosz a customer of the other bank only."""
    home = factories.bank_factory()
    other = factories.bank_factory(
        "BSWZOR",
        name="Bank Spółdzielczy w Wzorowie",
        short_name="BS Wzorowo",
        helpline_phone="+48 85 600 70 80",
        brand_colour="#1D4E89",
    )
    home_card = card_activate(
        actor=factories.SYSTEM,
        card=factories.card_factory(customer=cardholder.customer, product=factories.product_factory(bank=home)),
    )
    # Anna becomes the other bank's customer too: the same person (same PESEL), the bank's own number.
    customer_create(
        actor=factories.SYSTEM,
        bank=other,
        reference="WZ-0001",
        residency=Residency.RESIDENT,
        first_name="Anna",
        last_name="Nowak",
        pesel=cardholder.customer.pesel,
    )
    other_product = factories.product_factory(bank=other, name="Mastercard Debit", brand=Brand.MASTERCARD)
    other_card = card_activate(
        actor=factories.SYSTEM, card=factories.card_factory(customer=cardholder.customer, product=other_product)
    )
    bank_logo_set(actor=factories.SYSTEM, bank=other, data=OTHER_LOGO, content_type="image/svg+xml")
    other.refresh_from_db()
    bartosz = factories.customer_factory(bank=other, first_name="Bartosz", last_name="Wiśniewski")
    factories.card_factory(customer=bartosz, product=other_product)
    return TwoBanks(home, other, home_card, other_card, bartosz)


def _open_customer(page: Page, check_page: PageChecks, customer: Customer) -> None:
    page.goto(f"/backoffice/customers/{customer.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(customer.full_name)
    check_page()


def test_a_branch_employee_sees_only_their_banks_part_and_a_404_for_another_banks_customer(
    page: Page, live_server, check_page, cardholder, two_banks
):
    clerk = staff_person_create("branch", username="okienko", full_name="Piotr Okienko", bank=two_banks.home)
    staff_sign_in(page, check_page, clerk)
    expect(page.locator(".header-bank")).to_have_text(two_banks.home.short_name)

    # The search finds Anna (a customer of both banks) but not the other bank's own customer.
    page.get_by_label("Znajdź klienta").fill("Wiśniewski")
    page.get_by_role("button", name="Szukaj").click()
    expect(page.get_by_role("link", name=re.compile("Wiśniewski"))).to_have_count(0)
    check_page()

    _open_customer(page, check_page, cardholder.customer)
    content = page.content()
    assert two_banks.home_card.pan_last4 in content
    assert two_banks.other_card.pan_last4 not in content
    assert "WZ-0001" not in content and two_banks.other.short_name not in content

    # Another bank's customer: the 404 page, itself accessible.
    response = page.goto(f"/backoffice/customers/{two_banks.other_only.pk}/")
    assert response is not None and response.status == 404
    check_page()


def test_the_groups_agent_sees_both_banks_cards_and_which_bank_each_is_on_a_phone(
    page: Page, live_server, check_page, cardholder, two_banks
):
    agent = staff_person_create("agent", username="infolinia", full_name="Ewa Konsultant")
    page.set_viewport_size({"width": 375, "height": 740})
    staff_sign_in(page, check_page, agent)
    expect(page.locator(".header-bank")).to_have_text("Grupa")
    _open_customer(page, check_page, cardholder.customer)
    cards = page.locator(".card-bank")
    expect(cards).to_have_count(2)
    expect(page.get_by_text("WZ-0001")).to_be_visible()
    banks = sorted(cards.all_inner_texts())
    assert banks == sorted([two_banks.home.short_name, two_banks.other.short_name])
    widths = page.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["scroll"] <= widths["inner"], widths


def test_a_person_with_cards_of_two_banks_sees_each_cards_bank_its_helpline_and_branches(
    page: Page, live_server, check_page, cardholder, two_banks
):
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Moje karty")
    check_page()
    # One portal, both banks' cards, each with its bank; the other bank's logo comes from our origin.
    names = page.locator(".bank-name__text")
    expect(names).to_have_count(2)
    assert sorted(names.all_inner_texts()) == sorted([two_banks.home.short_name, two_banks.other.short_name])
    logo = page.get_by_role("img", name=two_banks.other.name).first
    expect(logo).to_be_visible()
    assert logo.evaluate("image => image.complete && image.naturalWidth > 0")
    assert logo.get_attribute("src").startswith(f"/banks/{two_banks.other.code}/logo/")
    # The name sits on the bank's brand colour (our stylesheet, no inline style), white text on it.
    badge = page.locator(f'.bank-badge[data-bank="{two_banks.other.code}"]').first
    colours = badge.evaluate("el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]")
    assert colours == ["rgb(29, 78, 137)", "rgb(255, 255, 255)"]
    widths = page.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["scroll"] <= widths["inner"], widths

    # The other bank's card: its own helpline, not the group's.
    page.goto(f"/cards/{two_banks.other_card.pk}/")
    expect(page.get_by_role("heading", level=2, name="Bank karty")).to_be_visible()
    expect(page.locator("#bank-contact")).to_contain_text("+48 85 600 70 80")
    check_page()

    # The help page lists both of the person's banks.
    page.goto("/help/")
    expect(page.get_by_role("heading", level=2, name="Twoje banki")).to_be_visible()
    banks = page.locator("#your-banks .bank-name__text")
    expect(banks).to_have_count(2)
    assert sorted(banks.all_inner_texts()) == sorted([two_banks.home.short_name, two_banks.other.short_name])
    expect(page.locator("#your-banks")).to_contain_text("+48 85 600 70 80")
    check_page()
