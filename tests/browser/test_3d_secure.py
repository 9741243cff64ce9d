"""3-D Secure settings in a real browser, with axe-core and the CSP check on every page.

The page's own strings are found by id and field name, not by their Polish
wording: the translations are added at the end of the issue.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kartosfera.cards.pin import threeds_pin_verification_value
from kartosfera.notifications.backends import locmem
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant
from tests.browser.helpers import ANNAS_PHONE as PHONE
from tests.browser.helpers import last_sms_code
from tests.browser.test_settings_and_session import sign_in_as

pytestmark = pytest.mark.browser

PIN = "5830"


def confirm_with_the_code(page: Page, check_page) -> None:
    expect(page).to_have_url(re.compile(r"/confirm/[0-9a-f-]{36}/$"))
    check_page()
    page.get_by_label("Kod SMS").fill(last_sms_code(PHONE))
    page.get_by_role("button", name="Potwierdź").click()
    expect(page).to_have_url(re.compile(r"/3d-secure/$"))
    check_page()


def test_3d_secure_settings(page: Page, live_server, check_page, anna, cardholder):
    sign_in_as(page, live_server, anna)
    page.goto("/3d-secure/")
    expect(page.locator("nav.main-nav a[href='/3d-secure/']")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("+48 *** *** 111")).to_be_visible()
    check_page()

    # The 3DS PIN: a trivial one first, then a good one confirmed with the SMS code.
    page.locator("a[href='/3d-secure/pin/']").first.click()
    expect(page).to_have_url(re.compile(r"/3d-secure/pin/$"))
    check_page()
    page.locator("input[name=pin]").fill("1234")
    page.locator("input[name=pin_repeat]").fill("1234")
    page.locator("form[action='/3d-secure/pin/'] button[type=submit]").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("input[name=pin]")).to_have_value("")
    check_page()
    page.locator("input[name=pin]").fill(PIN)
    page.locator("input[name=pin_repeat]").fill(PIN)
    page.locator("form[action='/3d-secure/pin/'] button[type=submit]").click()
    confirm_with_the_code(page, check_page)
    stored = ThreeDSProfile.objects.get(customer=cardholder.customer).pin_verification_value
    assert stored == threeds_pin_verification_value(PIN, customer=cardholder.customer)

    # A trusted merchant, added with the code.
    page.locator("input[name=name]").fill("Księgarnia Nova")
    page.locator("input[name=merchant_id]").fill("MID-000123")
    page.locator("input[name=country]").fill("PL")
    page.locator("form[action='/3d-secure/merchants/add/'] button[type=submit]").click()
    expect(page.locator("#operation-description")).to_contain_text("Księgarnia Nova")
    confirm_with_the_code(page, check_page)
    expect(page.locator("#merchant-list")).to_contain_text("Księgarnia Nova")
    assert TrustedMerchant.objects.filter(customer=cardholder.customer).count() == 1

    # Removed at once, without a code.
    sent = len(locmem.outbox)
    page.locator("#merchant-list form button[type=submit]").click()
    expect(page.locator("#merchant-list-empty")).to_be_visible()
    check_page()
    assert not TrustedMerchant.objects.exists()

    # The low-value exemption off, at once.
    page.locator("form[action='/3d-secure/exemption/'] button[type=submit]").click()
    expect(page.locator("form[action='/3d-secure/exemption/'] input[name=enabled]")).to_have_value("on")
    check_page()
    assert ThreeDSProfile.objects.get(customer=cardholder.customer).low_value_exemption is False
    assert len(locmem.outbox) == sent
