"""Passkeys in a real browser: Chromium's virtual authenticator (DevTools' WebAuthn domain) stands in for the device.

Adding a passkey on the settings page (name, password, the device's prompt, the SMS code), signing out, then
signing in with the password and the passkey: no SMS code. axe-core checks every page, at desktop and phone width.
WebAuthn refuses IP addresses as relying party ids: the live server is opened as http://localhost:<port> (a secure
context, so WebAuthn is available without https).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Locator, Page, expect

from kartosfera.notifications.backends import locmem
from kartosfera.testing.factories import DEFAULT_PASSWORD
from kartosfera.users.models import Passkey, User
from tests.browser.helpers import ANNAS_PHONE, enter_password, last_sms_code, virtual_authenticator

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
PASSKEY_NAME = "Mój laptop"


def _sign_in_as(page: Page, live_server: Any, user: User) -> None:
    """A signed-in session without the login pages (the journey below signs in through them afterwards)."""
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}])


def _press_enter_on(page: Page, locator: Locator) -> None:
    locator.focus()
    expect(locator).to_be_focused()
    page.keyboard.press("Enter")


def _fits(page: Page) -> None:
    widths = page.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["scroll"] <= widths["inner"], widths


def test_add_a_passkey_then_sign_in_with_it_and_no_sms(page: Page, live_server, check_page, anna, cardholder):
    assert urlsplit(live_server.url).hostname == "localhost"  # not 127.0.0.1: WebAuthn refuses IP addresses
    virtual_authenticator(page)
    locmem.outbox.clear()
    _sign_in_as(page, live_server, anna)

    page.goto("/settings/")
    check_page()
    _press_enter_on(page, page.locator("#passkeys-link"))
    expect(page).to_have_url(re.compile(r"/settings/passkeys/$"))
    expect(page.locator("#no-passkeys")).to_be_visible()
    check_page()

    _press_enter_on(page, page.locator("#passkey-add"))
    expect(page).to_have_url(re.compile(r"/settings/passkeys/add/$"))
    check_page()
    page.locator("#id_name").fill(PASSKEY_NAME)
    page.get_by_label("Obecne hasło", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Dalej").click()

    # The device's prompt: the virtual authenticator answers it at once.
    expect(page).to_have_url(re.compile(r"/settings/passkeys/add/create/$"))
    expect(page.locator("#passkey-form")).to_be_visible()
    check_page()
    _press_enter_on(page, page.locator("#passkey-form button[type=submit]"))

    expect(page).to_have_url(re.compile(r"/confirm/[0-9a-f-]{36}/$"))
    check_page()
    page.get_by_label("Kod SMS").fill(last_sms_code(ANNAS_PHONE))
    page.get_by_role("button", name="Potwierdź").click()

    expect(page).to_have_url(re.compile(r"/settings/passkeys/$"))
    expect(page.locator("#passkeys tbody tr")).to_have_count(1)
    expect(page.locator("#passkeys")).to_contain_text(PASSKEY_NAME)
    check_page()
    passkey = Passkey.objects.get(user=anna)
    assert passkey.name == PASSKEY_NAME and "internal" in passkey.transports

    page.set_viewport_size(PHONE)
    page.reload()
    _fits(page)
    check_page()
    page.set_viewport_size({"width": 1280, "height": 800})

    # Sign out, and in again: the password, then the passkey; no text message.
    page.get_by_role("button", name="Wyloguj się").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    check_page()
    sms_before = len(locmem.outbox)
    enter_password(page, check_page, cardholder.identifier, DEFAULT_PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/passkey/$"))
    expect(page.locator("#passkey-sms")).to_be_visible()  # "passkey only" is off: the code on request
    check_page()
    page.set_viewport_size(PHONE)
    _fits(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    _press_enter_on(page, page.locator("#passkey-form button[type=submit]"))

    expect(page).to_have_url(re.compile(r"/cards/$"))
    check_page()
    assert len(locmem.outbox) == sms_before
    assert Passkey.objects.get(pk=passkey.pk).last_used_at is not None


def test_passkey_only_leaves_no_sms_way_on_the_sign_in_step(page: Page, live_server, check_page, anna, cardholder):
    virtual_authenticator(page)
    _sign_in_as(page, live_server, anna)
    page.goto("/settings/passkeys/add/")
    check_page()
    page.locator("#id_name").fill(PASSKEY_NAME)
    page.get_by_label("Obecne hasło", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Dalej").click()
    expect(page.locator("#passkey-form")).to_be_visible()
    check_page()
    page.locator("#passkey-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/confirm/[0-9a-f-]{36}/$"))
    check_page()
    page.get_by_label("Kod SMS").fill(last_sms_code(ANNAS_PHONE))
    page.get_by_role("button", name="Potwierdź").click()
    expect(page.locator("#passkeys tbody tr")).to_have_count(1)
    check_page()

    # "Passkey only": one button, no code.
    _press_enter_on(page, page.locator("#passkey-only-on"))
    expect(page.locator("#passkey-only-off")).to_be_visible()
    check_page()
    assert User.objects.get(pk=anna.pk).passkey_only

    page.get_by_role("button", name="Wyloguj się").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    check_page()
    enter_password(page, check_page, cardholder.identifier, DEFAULT_PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/passkey/$"))
    expect(page.locator("#passkey-sms")).to_have_count(0)
    check_page()
    page.locator("#passkey-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/cards/$"))
    check_page()

    # Back to SMS codes: the password, then the passkey confirms it (a passkey-only cardholder gets no SMS).
    sms_before = len(locmem.outbox)
    page.goto("/settings/passkeys/")
    check_page()
    page.get_by_label("Obecne hasło", exact=True).fill(DEFAULT_PASSWORD)
    _press_enter_on(page, page.locator("#passkey-only-off"))
    expect(page).to_have_url(re.compile(r"/confirm/[0-9a-f-]{36}/passkey/$"))
    check_page()
    page.locator("form[data-passkey=get] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/settings/passkeys/$"))
    expect(page.locator("#passkey-only-on")).to_be_visible()
    check_page()
    assert not User.objects.get(pk=anna.pk).passkey_only
    assert len(locmem.outbox) == sms_before
