"""Settings → BLIK in a real browser on a phone-sized screen: off with the keyboard and no code; axe on each page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kartosfera.blik.selectors import blik_state
from tests.browser.test_settings_and_session import sign_in_as

pytestmark = pytest.mark.browser


def test_the_holder_switches_blik_off_at_once_on_a_phone(page: Page, live_server, check_page, cardholder):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_as(page, live_server, cardholder.user)
    page.goto("/settings/")
    check_page()
    page.get_by_role("link", name="BLIK", exact=True).click()
    expect(page).to_have_url(re.compile(r"/blik/$"))
    expect(page.locator("#blik-state")).to_have_attribute("data-enabled", "true")
    check_page()

    button = page.get_by_role("button", name="Wyłącz BLIK teraz")
    button.focus()
    page.keyboard.press("Enter")  # the keyboard alone, and no code asked

    expect(page).to_have_url(re.compile(r"/blik/$"))
    expect(page.locator(".messages")).to_contain_text("BLIK jest wyłączony")
    expect(page.locator("#blik-state")).to_have_attribute("data-enabled", "false")
    expect(page.locator("#blik-change-1")).to_contain_text("Wyłączono w portalu")
    expect(page.get_by_role("button", name="Wyłącz BLIK teraz")).to_have_count(0)
    check_page()
    overflow = page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    assert not overflow
    assert not blik_state(cardholder.customer).enabled
