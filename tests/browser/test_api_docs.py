"""The provisioning API's reference page in Chromium: axe-core clean and CSP-clean, on a desktop and a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kartosfera.api.tests.conftest import BASE
from kartosfera.api.tests.test_docs import ENDPOINTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_reference_lists_every_operation_without_an_axe_or_csp_violation(page, check_page, live_server):
    page.goto(live_server.url + BASE + "/docs")

    check_page()
    assert page.locator("h1").inner_text() == "Kartosfera provisioning API"
    expected = {f"{method.upper()} {path}" for path, methods in ENDPOINTS.items() for method in methods}
    headings = [" ".join(text.split()) for text in page.locator("section.operation h3").all_inner_texts()]
    assert sorted(headings) == sorted(expected)
    contents = [" ".join(text.split()) for text in page.locator(".docs-toc__operations a").all_inner_texts()]
    assert sorted(contents) == sorted(expected)


def test_the_reference_is_keyboard_friendly(page, check_page, live_server):
    page.goto(live_server.url + BASE + "/docs")
    check_page()

    # The first Tab reaches the skip link, which moves past the header to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    page.keyboard.press("Enter")
    # Fragment navigation settles asynchronously: wait for it rather than read at once.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'main'")

    # A link of the contents leads to its operation, with a visible focus ring on the way.
    link = page.locator(".docs-toc a[href='#post-cards-reference-renew']")
    link.focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#post-cards-reference-renew$"))
    expect(page.locator("#post-cards-reference-renew")).to_be_in_viewport()
    page.wait_for_function("document.getElementById('post-cards-reference-renew').getBoundingClientRect().top < 100")


def test_the_reference_fits_a_phone(page, check_page, live_server):
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(live_server.url + BASE + "/docs")

    check_page()
    # Nothing scrolls sideways: long paths, patterns and field names wrap, tables become blocks.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
            .map((el) => el.outerHTML.slice(0, 80))"""
    )
    assert not wide, wide


def test_the_language_switch_returns_to_the_reference(page, check_page, live_server):
    page.goto(live_server.url + BASE + "/docs")
    check_page()
    assert page.locator("html").get_attribute("lang") == "pl"

    with page.expect_navigation(url=f"**{BASE}/docs"):
        page.get_by_role("button", name="English").click()
    check_page()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Kartosfera provisioning API"


PROCESSOR_BASE = "/api/processor/v1"
PROCESSOR_OPERATIONS = {
    "POST /authorizations",
    "POST /authorizations/{authorization_id}/reversals",
    "POST /authorizations/{authorization_id}/increments",
    "POST /advices",
    "POST /clearing",
}


@pytest.mark.parametrize("width", [375, 1280])
def test_the_processor_reference_is_axe_and_csp_clean_and_fits(page, check_page, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + PROCESSOR_BASE + "/docs")

    check_page()
    assert page.locator("h1").inner_text() == "Kartosfera processor API"
    headings = {" ".join(text.split()) for text in page.locator("section.operation h3").all_inner_texts()}
    assert headings == PROCESSOR_OPERATIONS
    assert page.evaluate("document.documentElement.scrollWidth") <= width
