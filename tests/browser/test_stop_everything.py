"""Stop everything in a real browser on a phone-sized screen: stop at once with no code, the banner on every page,
lift with the SMS code; axe and the CSP check on each page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kartosfera.customers.models import Customer
from kartosfera.notifications.backends import locmem
from tests.browser.helpers import last_sms_code
from tests.browser.test_settings_and_session import sign_in_as

pytestmark = pytest.mark.browser


def _stopped(cardholder) -> bool:
    return Customer.objects.get(pk=cardholder.customer.pk).payments_stopped


def _no_overflow(page: Page) -> None:
    assert not page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def test_the_holder_stops_everything_sees_the_banner_and_lifts_it_with_the_code(
    page: Page, live_server, check_page, anna, cardholder, annas_card
):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_as(page, live_server, anna)
    page.goto("/cards/")
    check_page()
    page.locator("#stop-link").click()
    expect(page).to_have_url(re.compile(r"/stop/$"))
    expect(page.locator("#stop-state")).to_have_attribute("data-stopped", "false")
    check_page()
    _no_overflow(page)

    button = page.locator("#stop-now")
    button.focus()
    page.keyboard.press("Enter")  # the keyboard alone, and no code asked

    expect(page).to_have_url(re.compile(r"/stop/$"))
    expect(page.locator("#stop-state")).to_have_attribute("data-stopped", "true")
    expect(page.locator(".messages .alert--success")).to_be_visible()
    check_page()
    assert _stopped(cardholder) and not locmem.outbox

    # Every other page says it, with the way back.
    for url in ("/cards/", "/settings/", "/blik/"):
        page.goto(url)
        expect(page.locator("#stop-banner")).to_be_visible()
        check_page()
        _no_overflow(page)
    page.locator("#stop-banner a").click()
    expect(page).to_have_url(re.compile(r"/stop/$"))
    check_page()

    page.locator("#stop-lift").click()
    expect(page).to_have_url(re.compile(r"/confirm/[0-9a-f-]{36}/$"))
    check_page()
    assert _stopped(cardholder)
    page.get_by_label("Kod SMS").fill(last_sms_code())
    page.get_by_role("button", name="Potwierdź").click()

    expect(page).to_have_url(re.compile(r"/stop/$"))
    expect(page.locator("#stop-state")).to_have_attribute("data-stopped", "false")
    check_page()
    assert not _stopped(cardholder)
    page.goto("/cards/")
    expect(page.locator("#stop-banner")).to_have_count(0)
    check_page()
