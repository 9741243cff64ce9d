"""The holder's and the back office's 3-D Secure authentications in a real browser: axe-core and the CSP check on
every page, by keyboard, and at 375 px without sideways scrolling."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kartosfera.acs.tests import records
from kartosfera.processing.tests.helpers import CardFixture, card_of
from tests.browser.helpers import staff_sign_in
from tests.browser.test_settings_and_session import sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def annas_authentications(cardholder, debit_product) -> CardFixture:
    """Anna's card with one authentication of each kind: exempt, confirmed and paid, not confirmed, pending."""
    tc = card_of(cardholder.customer, debit_product, balance_minor=200_000)
    records.answered(tc, merchantName="Kiosk Online", purchaseAmount="1250")
    records.not_confirmed(tc, reason="14", merchantName="Apteka Nocna")
    records.challenged(tc, merchantName="Sklep w toku")
    records.paid(tc, records.confirmed(tc, merchantName="Sklep Internetowy", purchaseAmount="8999"))
    return tc


def _fits(page: Page) -> None:
    widths = page.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["scroll"] <= widths["inner"], widths


def _press_enter_on(page: Page, locator) -> None:
    locator.focus()
    expect(locator).to_be_focused()
    page.keyboard.press("Enter")


def test_the_holder_follows_an_authentication_to_its_payment_by_keyboard(
    page: Page, live_server, check_page, cardholder, annas_authentications
):
    sign_in_as(page, live_server, cardholder.user)
    page.goto("/3d-secure/")
    check_page()

    _press_enter_on(page, page.locator("#authentications-link"))
    expect(page).to_have_url(re.compile(r"/3d-secure/authentications/$"))
    rows = page.locator(".authentication-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Sklep Internetowy")
    expect(rows.first).to_contain_text("89,99 zł")
    check_page()

    _press_enter_on(page, page.get_by_role("link", name="Sklep Internetowy"))
    expect(page).to_have_url(re.compile(r"/3d-secure/authentications/[0-9a-f-]{36}/$"))
    expect(page.locator("#authentication-amount")).to_have_text("89,99 zł")
    check_page()

    _press_enter_on(page, page.locator("#payment-link"))
    expect(page).to_have_url(
        re.compile(rf"/cards/{annas_authentications.card.pk}/history/\?date_from=.*#authorization-")
    )
    line = page.locator(".authorization-table tbody tr", has_text="Sklep Internetowy")
    expect(line.get_by_role("link", name="3-D Secure")).to_be_visible()
    check_page()

    # And back from the payment's line to its authentication.
    _press_enter_on(page, line.get_by_role("link", name="3-D Secure"))
    expect(page).to_have_url(re.compile(r"/3d-secure/authentications/[0-9a-f-]{36}/$"))
    check_page()


def test_the_holders_pages_fit_a_phone_screen(page: Page, live_server, check_page, cardholder, annas_authentications):
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in_as(page, live_server, cardholder.user)
    page.goto("/3d-secure/authentications/")
    expect(page.locator(".authentication-table tbody tr")).to_have_count(4)
    _fits(page)
    check_page()
    page.get_by_role("link", name="Apteka Nocna").click()
    expect(page.locator("#authentication-result")).to_be_visible()
    _fits(page)
    check_page()


def test_staff_see_the_authentications_and_the_lock(page: Page, check_page, staff, cardholder, annas_authentications):
    customer = cardholder.customer
    staff_sign_in(page, check_page, staff["supervisor"])
    page.goto(f"/backoffice/customers/{customer.pk}/")
    expect(page.locator("#threeds-authentications tbody tr")).to_have_count(4)
    check_page()

    _press_enter_on(page, page.locator(f"a[href='/backoffice/customers/{customer.pk}/3d-secure/']"))
    expect(page).to_have_url(re.compile(rf"/backoffice/customers/{customer.pk}/3d-secure/$"))
    expect(page.locator("#threeds-lock")).to_be_visible()
    expect(page.locator(".authentication-table tbody tr").first).to_contain_text("challenge_requested")
    check_page()

    _press_enter_on(page, page.get_by_role("link", name="Apteka Nocna"))
    expect(page.locator("#decision")).to_contain_text("14")
    check_page()

    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"/backoffice/customers/{customer.pk}/3d-secure/")
    _fits(page)
    check_page()
    page.get_by_role("link", name="Sklep Internetowy").click()
    expect(page.locator("#payment-link")).to_be_visible()
    _fits(page)
    check_page()
