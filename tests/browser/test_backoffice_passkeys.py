"""Staff passkeys in a real browser: Chromium's virtual authenticator (the DevTools WebAuthn domain) stands in
for a security key. A staff member adds a passkey on their account page, signs out and signs in again with the
password and the passkey; axe-core and the CSP check run on every page, the passkey step included.

The live server is opened as http://localhost:<port>: WebAuthn refuses an IP address as the relying party id,
and localhost is a secure context.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from kartosfera.core.models import AuditEvent
from kartosfera.users.models import Passkey
from tests.browser.conftest import PageChecks
from tests.browser.helpers import STAFF_USERNAME_LABEL, staff_sign_in, virtual_authenticator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_staff_member_adds_a_passkey_and_signs_in_with_it(
    page: Page, live_server: Any, check_page: PageChecks, staff
):
    person = staff["agent"]
    assert live_server.url.startswith("http://localhost:"), live_server.url
    virtual_authenticator(page)
    staff_sign_in(page, check_page, person)

    # The account page: no passkey yet, so the code confirms it is them (the next time step's: this one's code
    # has just signed in, and each code works once).
    page.goto("/backoffice/password/#passkeys")
    expect(page.locator("#passkeys-heading")).to_be_visible()
    check_page()
    page.locator("#id_confirm-code").fill(person.code(offset_steps=1))
    page.locator("#code-confirm-form button[type=submit]").click()
    expect(page.locator("#passkey-add-form")).to_be_visible()
    check_page()

    # Adding: the browser asks the (virtual) authenticator, the page sends its answer.
    page.locator("#id_name").fill("Laptop w oddziale")
    page.locator("#passkey-add-form button[type=submit]").click()
    expect(page.locator("#passkey-list")).to_contain_text("Laptop w oddziale")
    check_page()
    passkey = Passkey.objects.get(user=person.user)
    assert passkey.name == "Laptop w oddziale"

    page.get_by_role("button", name="Wyloguj się").click()
    expect(page).to_have_url(re.compile(r"/backoffice/login/$"))
    check_page()

    # Signing in: the password, then the passkey step (the code stays offered below it).
    page.get_by_label(STAFF_USERNAME_LABEL).fill(person.username)
    page.get_by_label("Hasło", exact=True).fill(person.password)
    page.get_by_role("button", name="Dalej").click()
    expect(page).to_have_url(re.compile(r"/backoffice/login/code/$"))
    expect(page.locator("#passkey-form")).to_be_visible()
    check_page()
    page.locator("#passkey-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Znajdź klienta")
    check_page()

    event = AuditEvent.objects.filter(action="backoffice.staff.signed_in").latest("pk")
    assert event.after == {"second_step": "passkey"}
    assert Passkey.objects.get(pk=passkey.pk).last_used_at is not None
