"""Card controls in a real browser on a phone-sized screen: a country block changes the "what if" answer; the
temporary raise with its code and countdown (axe + CSP on every page)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import confirm_with_code, open_card
from tests.browser.test_settings_and_session import sign_in_as

pytestmark = pytest.mark.browser


def _no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    assert not overflow, page.url


def _ask_what_if(page: Page, country: str) -> None:
    form = page.locator("#what-if-form")
    form.get_by_label("Kwota").fill("120,00")
    form.get_by_label("Jak").select_option(label="Karta i PIN w terminalu")
    form.get_by_label("Kraj sklepu lub bankomatu").fill(country)
    form.get_by_label("Rodzaj sprzedawcy").select_option(label="Elektronika")
    form.get_by_role("button", name="Sprawdź").click()


def test_a_country_block_changes_the_what_if_answer(page: Page, live_server, check_page, anna, annas_card):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_as(page, live_server, anna)
    open_card(page, check_page, annas_card)
    _no_horizontal_scroll(page)

    _ask_what_if(page, "DE")
    expect(page).to_have_url(re.compile(rf"/cards/{annas_card.pk}/what-if/\?"))
    expect(page.locator("#what-if-answer")).to_contain_text("Zostałaby zaakceptowana")
    check_page()
    _no_horizontal_scroll(page)

    page.goto(f"/cards/{annas_card.pk}/controls/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ustawienia karty")
    check_page()
    _no_horizontal_scroll(page)
    page.get_by_label("Wszędzie poza wybranymi krajami").check()
    page.get_by_label("Kraje", exact=True).fill("DE, AT")
    save = page.get_by_role("button", name="Zapisz ustawienia")
    save.focus()
    page.keyboard.press("Enter")  # tightening: at once, no code
    expect(page).to_have_url(re.compile(rf"/cards/{annas_card.pk}/$"))
    expect(page.get_by_role("status").first).to_contain_text("Ustawienia karty zostały zmienione")
    expect(page.locator("#controls-countries")).to_contain_text("Niemcy")
    check_page()

    _ask_what_if(page, "DE")
    answer = page.locator("#what-if-answer")
    expect(answer).to_contain_text("Zostałaby odrzucona")
    expect(answer).to_contain_text("Tą kartą nie można płacić w tym kraju.")
    check_page()
    page.locator("#what-if-setting").click()
    expect(page).to_have_url(re.compile(rf"/cards/{annas_card.pk}/controls/$"))
    check_page()

    # Allowing Germany again loosens: the SMS code first.
    page.get_by_label("Wszędzie", exact=True).check()
    page.get_by_label("Kraje", exact=True).fill("")
    page.get_by_role("button", name="Zapisz ustawienia").click()
    confirm_with_code(page, check_page, f"włączenie dla karty *{annas_card.pan_last4}: więcej krajów")
    expect(page).to_have_url(re.compile(rf"/cards/{annas_card.pk}/$"))
    check_page()
    _ask_what_if(page, "DE")
    expect(page.locator("#what-if-answer")).to_contain_text("Zostałaby zaakceptowana")
    check_page()


def test_a_temporary_raise_with_the_code_shows_until_when(page: Page, live_server, check_page, anna, annas_card):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_as(page, live_server, anna)
    open_card(page, check_page, annas_card)
    page.locator("#temporary-raise-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Podnieś limity na jakiś czas")
    check_page()
    _no_horizontal_scroll(page)
    page.get_by_label("Limit bezgotówkowy").fill("8 000")
    page.get_by_label("Na jak długo").select_option(label="2 h")
    page.get_by_role("button", name="Podnieś limity").click()
    confirm_with_code(page, check_page, f"limity karty *{annas_card.pan_last4} na 2 h: bezgotówkowy 8 000,00 PLN")
    expect(page.locator("#temporary-raise")).to_contain_text("8 000,00")
    # The countdown is live (static/js/countdown.js rewrites the server's words in minutes).
    expect(page.locator("#temporary-raise-left")).to_have_text(re.compile(r"^zostało (2 h 0|1 h 59) min$"))
    check_page()
    page.get_by_role("button", name="Zakończ podniesienie teraz").click()
    expect(page.locator("#temporary-raise")).to_have_count(0)
    check_page()
