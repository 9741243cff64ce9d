"""The help pages in a real browser: reached from every footer, axe-clean, keyboard-usable, at 375 and 1280 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

HELP_PAGES = [
    ("Przewodnik Użytkownika", "/help/guide/"),
    ("Zasady bezpieczeństwa", "/help/security/"),
    ("Wymagania techniczne", "/help/browsers/"),
    ("Deklaracja dostępności", "/help/accessibility/"),
]


def _fits(page: Page, width: int) -> None:
    """Nothing is wider than the screen: no sideways scrolling (WCAG 1.4.10)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
    wider = page.evaluate(
        """(width) => [...document.querySelectorAll("main *, footer *")]
             .filter((el) => el.getBoundingClientRect().right > width + 0.5)
             .map((el) => el.outerHTML.slice(0, 80))""",
        width,
    )
    assert wider == [], wider


@pytest.mark.parametrize("width", [375, 1280])
def test_every_help_page_is_reached_from_the_footer_and_fits_the_screen(page: Page, live_server, check_page, width, db):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/login/")
    check_page()
    footer = page.locator("footer")
    expect(footer.get_by_role("link", name="+48 86 215 50 00")).to_have_attribute("href", "tel:+48862155000")
    expect(footer.get_by_role("link", name="+48 86 215 50 50")).to_have_attribute("href", "tel:+48862155050")

    footer.get_by_role("link", name="Pomoc", exact=True).click()
    expect(page).to_have_url(re.compile(r"/help/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Pomoc")
    check_page()
    _fits(page, width)

    for title, path in HELP_PAGES:
        page.locator("main").get_by_role("link", name=title).click()
        expect(page).to_have_url(re.compile(f"{re.escape(path)}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        check_page()
        _fits(page, width)
        page.get_by_role("navigation", name="Ścieżka nawigacji").get_by_role("link", name="Pomoc").click()
        check_page()


def test_the_help_pages_read_in_english(page: Page, live_server, check_page, db):
    page.goto(f"{live_server.url}/help/")
    check_page()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Help")
    check_page()
    page.locator("footer").get_by_role("link", name="Accessibility statement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accessibility statement")
    check_page()


def test_the_keyboard_alone_reaches_the_accessibility_statement_and_its_sections(
    page: Page, live_server, check_page, db
):
    page.goto(f"{live_server.url}/login/")
    check_page()

    statement = page.locator("footer").get_by_role("link", name="Deklaracja dostępności")
    for _ in range(40):
        page.keyboard.press("Tab")
        if statement.evaluate("(el) => el === document.activeElement"):
            break
    expect(statement).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/help/accessibility/$"))
    check_page()

    # The skip link, then the contents list: Enter on an entry brings its section into view.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Przejdź do treści strony")).to_be_focused()
    page.keyboard.press("Enter")
    entry = page.get_by_role("navigation", name="Na tej stronie").get_by_role(
        "link", name="Skargi i procedura egzekwowania"
    )
    for _ in range(20):
        page.keyboard.press("Tab")
        if entry.evaluate("(el) => el === document.activeElement"):
            break
    expect(entry).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#a11y-enforcement$"))
    expect(page.get_by_role("heading", level=2, name="Skargi i procedura egzekwowania")).to_be_in_viewport()
    check_page()


def test_the_login_error_explains_the_lock_with_the_helpline(page: Page, live_server, check_page, db):
    page.goto(f"{live_server.url}/login/")
    check_page()
    page.get_by_label("PESEL, numer identyfikacyjny lub login").fill("99999999999")
    page.get_by_label("Hasło").fill("nie-wiem-jakie-haslo")
    page.get_by_role("button", name="Zaloguj się").click()

    error = page.get_by_role("alert")
    expect(error).to_contain_text("Nieprawidłowy identyfikator lub hasło.")
    expect(error).to_contain_text("Po 3 błędnych hasłach z rzędu dostęp do portalu zostaje zablokowany do północy")
    expect(error.get_by_role("link", name="+48 86 215 50 00")).to_have_attribute("href", "tel:+48862155000")
    check_page()
