"""The card history with the keyboard only: filter to the declines, follow the reason's link, fix the setting."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kartosfera.cards.operations_services import card_contactless_set
from kartosfera.processing.models import Channel
from kartosfera.processing.tests.helpers import card_of, decide
from kartosfera.testing import factories
from tests.browser.helpers import open_card, sign_in

pytestmark = pytest.mark.browser


def test_a_declined_contactless_payment_leads_to_the_switch(page: Page, check_page, cardholder, debit_product):
    holder_card = card_of(cardholder.customer, debit_product, balance_minor=50_000)
    decide(holder_card, amount_minor=12_345, merchant_name="Biedronka 1234")
    card_contactless_set(actor=factories.SYSTEM, card=holder_card.card, enabled=False)
    decide(holder_card, amount_minor=1_999, channel=Channel.POS_CONTACTLESS, merchant_name="Żabka 9")
    card = holder_card.card
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    open_card(page, check_page, card)

    page.get_by_role("link", name="Historia płatności i blokady").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/cards/{card.pk}/history/$"))
    expect(page.locator("#holds")).to_contain_text("Biedronka 1234")
    expect(page.locator("#available-funds")).to_contain_text("376,55")
    check_page()

    page.get_by_label("Status").focus()
    page.keyboard.press("End")  # the last status: declined
    page.get_by_role("button", name="Pokaż").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"status=declined"))
    rows = page.locator(".authorization-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Płatności zbliżeniowe tą kartą są wyłączone.")
    check_page()

    page.get_by_role("link", name="Włącz płatności zbliżeniowe").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/cards/{card.pk}/#manage$"))
    check_page()
    page.get_by_role("button", name="Włącz płatności zbliżeniowe").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("włączone")
    check_page()
    card.refresh_from_db()
    assert card.contactless_enabled
