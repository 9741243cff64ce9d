"""Settings journeys and the session timeout in a real browser, with axe-core on every page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from playwright.sync_api import Page, expect

from kartosfera.sca.tests.helpers import code_sent_to
from kartosfera.users.models import User
from tests.browser.helpers import ANNAS_PHONE as PHONE

pytestmark = pytest.mark.browser

NEW_PHONE = "+48602999888"
NEW_PASSWORD = "Czerwone jabłka w sadzie"


def sign_in_as(page: Page, live_server: Any, user: User) -> str:
    """Start a signed-in session without the login pages (they are tested on their own).

    django.contrib.auth.login() through the test client, then the session
    cookie handed to the browser for the live server's host. Returns the key.
    """
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}])
    return key


def test_change_the_password_with_the_sms_code(page: Page, live_server, check_page, anna):
    sign_in_as(page, live_server, anna)
    page.goto("/settings/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ustawienia")
    expect(page.get_by_role("link", name="Ustawienia", exact=True)).to_have_attribute("aria-current", "page")
    check_page()

    page.get_by_role("link", name="Zmień hasło").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zmień hasło")
    check_page()

    # A mistake first: the two new passwords differ.
    page.get_by_label("Obecne hasło", exact=True).fill(anna_password())
    page.get_by_label("Nowe hasło", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Powtórz nowe hasło", exact=True).fill(NEW_PASSWORD + "!")
    page.get_by_role("button", name="Dalej").click()
    expect(page.get_by_role("alert")).to_contain_text("Hasła nie są takie same.")
    check_page()

    page.get_by_label("Obecne hasło", exact=True).fill(anna_password())
    page.get_by_label("Nowe hasło", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Powtórz nowe hasło", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Dalej").click()
    expect(page).to_have_url(re.compile(r"/confirm/[0-9a-f-]{36}/$"))
    expect(page.locator("#operation-description")).to_have_text("zmiana hasła do portalu")
    check_page()

    page.get_by_label("Kod SMS").fill(code_sent_to(PHONE))
    page.get_by_role("button", name="Potwierdź").click()
    expect(page).to_have_url(re.compile(r"/settings/$"))
    expect(page.get_by_role("status").first).to_contain_text("Hasło zostało zmienione.")
    check_page()

    assert User.objects.get(pk=anna.pk).check_password(NEW_PASSWORD)


def anna_password() -> str:
    from kartosfera.testing.factories import DEFAULT_PASSWORD

    return DEFAULT_PASSWORD


def test_change_the_portal_phone_with_codes_to_both_numbers(page: Page, live_server, check_page, anna):
    sign_in_as(page, live_server, anna)
    page.goto("/settings/phone/")
    check_page()

    page.get_by_label("Nowy numer telefonu").fill("602 999 888")
    page.get_by_label("Obecne hasło", exact=True).fill(anna_password())
    page.get_by_role("button", name="Dalej").click()
    expect(page.locator("#operation-description")).to_have_text("zmiana numeru telefonu do portalu na +48 *** *** 888")
    check_page()

    # The right code to the current number, a wrong one to the new number.
    new_code = code_sent_to(NEW_PHONE)
    page.get_by_label("Kod SMS wysłany na obecny numer").fill(code_sent_to(PHONE))
    page.get_by_label("Kod SMS wysłany na nowy numer").fill(f"{(int(new_code) + 1) % 10**6:06d}")
    page.get_by_role("button", name="Potwierdź").click()
    expect(page.get_by_role("alert")).to_contain_text("Pozostałe próby: 2")
    expect(page.get_by_label("Kod SMS wysłany na obecny numer")).to_have_count(0)
    check_page()

    page.get_by_label("Kod SMS wysłany na nowy numer").fill(new_code)
    page.get_by_role("button", name="Potwierdź").click()
    expect(page).to_have_url(re.compile(r"/settings/$"))
    expect(page.get_by_text("+48 *** *** 888").first).to_be_visible()
    check_page()

    assert User.objects.get(pk=anna.pk).portal_phone == NEW_PHONE


def test_block_own_access(page: Page, live_server, check_page, anna):
    key = sign_in_as(page, live_server, anna)
    page.goto("/settings/")
    check_page()
    page.get_by_role("link", name="Zablokuj dostęp do portalu").click()
    check_page()

    page.get_by_role("button", name="Zablokuj mój dostęp teraz").click()
    expect(page.get_by_role("alert")).to_contain_text("Zaznacz pole")
    check_page()

    page.get_by_label(re.compile("tylko bank może odblokować")).check()
    page.get_by_role("button", name="Zablokuj mój dostęp teraz").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("status")).to_contain_text("Dostęp do portalu został zablokowany.")
    check_page()

    assert User.objects.get(pk=anna.pk).is_access_blocked
    assert not Session.objects.filter(session_key=key).exists()


def test_the_idle_warning_offers_an_extension_and_then_the_session_ends(
    page: Page, live_server, check_page, anna, settings
):
    settings.SESSION_IDLE_TIMEOUT = 12
    settings.SESSION_WARNING_LEAD = 9
    key = sign_in_as(page, live_server, anna)
    page.goto("/settings/")
    check_page()
    page.get_by_role("link", name="Zmień hasło").focus()

    warning = page.get_by_role("alertdialog", name="Sesja zaraz wygaśnie")
    expect(warning).to_be_visible(timeout=10_000)
    extend = warning.get_by_role("button", name="Przedłuż sesję")
    expect(extend).to_be_focused()
    check_page()  # axe on the open dialog

    page.keyboard.press("Enter")
    expect(warning).to_be_hidden()
    expect(page.locator("#session-announcer")).to_have_text("Sesja została przedłużona.")
    # Focus goes back where it was before the warning.
    expect(page.get_by_role("link", name="Zmień hasło")).to_be_focused()
    assert Session.objects.filter(session_key=key).exists()

    # No answer this time: the warning comes back and the session ends.
    expect(warning).to_be_visible(timeout=10_000)
    expect(page).to_have_url(re.compile(r"/login/\?next=%2Fsettings%2F$"), timeout=20_000)
    expect(page.get_by_role("status")).to_contain_text("Wylogowano po 1 minucie bez aktywności.")
    check_page()

    # Ended on the server, not only in this tab.
    assert not Session.objects.filter(session_key=key).exists()
    page.goto("/settings/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/settings/$"))
    check_page()


def test_end_another_session_with_the_keyboard(page: Page, live_server, check_page, anna):
    """ASVS 5.0 7.5.2 by keyboard only: the list, the other session's link, the password, Enter."""
    sign_in_as(page, live_server, anna)
    laptop = Client()
    laptop.force_login(anna)
    page.goto("/settings/")
    check_page()
    page.locator('main a[href="/settings/sessions/"]').focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/settings/sessions/$"))
    expect(page.locator("main [data-session]")).to_have_count(2)
    expect(page.locator("main [data-current]")).to_have_count(1)
    check_page()

    page.locator("main [data-end-session]").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/settings/sessions/[0-9a-f-]{36}/end/$"))
    check_page()
    page.locator("#id_current_password").focus()
    page.keyboard.type(anna_password())
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/settings/sessions/$"))
    expect(page.locator("main [data-session]")).to_have_count(1)
    expect(page.locator("main [data-end-session]")).to_have_count(0)
    check_page()
    response = laptop.get("/settings/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
