"""The development payment terminal in a real browser: the portal's contactless switch decides a tap.

The live server runs with DEBUG off; the terminal, like the SMS outbox, exists only
with DEBUG on, so the test switches it on. The terminal calls the live server's own
processor API over HTTP.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from kartosfera.accounts.models import Account
from kartosfera.processing.models import Authorization
from tests.browser.helpers import open_card, sign_in

pytestmark = pytest.mark.browser


def _tap(page: Page, check_page, card) -> None:
    page.goto("/dev/terminal/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Terminal płatniczy")
    check_page()
    page.get_by_label("Karta").select_option(str(card.pk))
    page.get_by_label("Sprzedawca").select_option("zabka")
    page.get_by_label("Kwota").fill("18,90")
    page.get_by_label("Waluta").select_option("PLN")
    page.get_by_label("Sposób użycia karty").select_option("contactless")
    # Keyboard only: Enter in the amount field submits the form.
    page.get_by_label("Kwota").press("Enter")


def test_contactless_off_in_the_portal_declines_the_tap_and_on_again_approves_it(
    page: Page, check_page, cardholder, annas_card, settings, tmp_path
):
    settings.DEBUG = True
    settings.DEV_PROCESSOR_KEY_PATH = tmp_path / "dev-processor-key"
    Account.objects.filter(pk=annas_card.account_id).update(balance_minor=100_000)
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()

    open_card(page, check_page, annas_card)
    page.get_by_role("button", name="Wyłącz płatności zbliżeniowe").click()
    expect(page.get_by_role("status").first).to_contain_text("Płatności zbliżeniowe są wyłączone.")
    check_page()

    _tap(page, check_page, annas_card)
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading", level=2)).to_have_text("Odrzucona")
    expect(decision).to_contain_text("Płatności zbliżeniowe tą kartą są wyłączone.")
    expect(decision).to_contain_text("contactless_disabled")
    expect(decision).to_contain_text(f"•••• {annas_card.pan_last4}")
    check_page()

    open_card(page, check_page, annas_card)
    page.get_by_role("button", name="Włącz płatności zbliżeniowe").click()
    expect(page.get_by_role("status").first).to_contain_text("Płatności zbliżeniowe są włączone.")
    check_page()

    _tap(page, check_page, annas_card)
    expect(decision.get_by_role("heading", level=2)).to_have_text("Zaakceptowana")
    approved = Authorization.objects.get(approved=True)
    expect(decision).to_contain_text(approved.authorization_code)
    expect(decision).to_contain_text("00")
    check_page()

    declined = Authorization.objects.get(approved=False)
    assert declined.decline_reason == "contactless_disabled"
    assert (declined.amount_minor, approved.amount_minor) == (1_890, 1_890)
