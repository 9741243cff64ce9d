"""BS Pay devices in a real browser at phone size, with axe-core and the CSP check on every page.

The activation code is shown once (after the SMS code), then a device is
blocked temporarily and for good. Strings are found by id and attribute, not
by their Polish wording: the translations are added at the end of the issue.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kartosfera.core.audit import Actor
from kartosfera.devices import services
from kartosfera.devices.models import AppDevice, DeviceState
from kartosfera.devices.tests.app_client import DEFAULT_PIN, AppClient
from tests.browser.helpers import ANNAS_PHONE as PHONE
from tests.browser.helpers import last_sms_code
from tests.browser.test_settings_and_session import sign_in_as

pytestmark = pytest.mark.browser


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_activation_code_is_shown_once_and_a_device_is_blocked(
    page: Page, live_server, check_page, anna, cardholder
):
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in_as(page, live_server, anna)
    page.goto("/bs-pay/")
    expect(page.locator("#device-list-empty")).to_be_visible()
    check_page()
    _no_sideways_scroll(page)

    # A new device's code: the password and an SMS code first, then shown once with its expiry.
    page.get_by_label("Obecne hasło", exact=True).fill(cardholder.password)
    page.locator("#activate-device").click()
    expect(page).to_have_url(re.compile(r"/confirm/[0-9a-f-]{36}/$"))
    check_page()
    page.get_by_label("Kod SMS").fill(last_sms_code(PHONE))
    page.get_by_role("button", name="Potwierdź").click()
    expect(page).to_have_url(re.compile(r"/bs-pay/activation-codes/[0-9a-f-]{36}/$"))
    code_page = page.url
    shown = page.locator("#activation-code")
    expect(shown).to_have_attribute("data-code-shown", "true")
    expect(page.locator("#activation-code-expiry time")).to_be_visible()
    check_page()
    _no_sideways_scroll(page)
    code = re.sub(r"\D", "", shown.inner_text())
    assert len(code) == 8

    page.goto(code_page)
    expect(page.locator("#activation-code-gone")).to_be_visible()
    expect(page.locator("#activation-code")).to_have_count(0)
    assert code not in page.content()
    check_page()

    # The app activates with the code shown; the device appears on the page.
    app = AppClient()
    assert app.activate(identifier=cardholder.identifier, code=code, device_name="Pixel Anny").status_code == 201
    page.goto("/bs-pay/")
    item = page.locator(f"li[data-device='{app.device_id}']")
    expect(item).to_have_attribute("data-state", "active")
    check_page()

    # Blocked at once, no code: the app is refused.
    item.locator("button[data-action=block]").click()
    expect(page).to_have_url(re.compile(r"/bs-pay/$"))
    expect(page.locator(f"li[data-device='{app.device_id}']")).to_have_attribute("data-state", "blocked_temporarily")
    check_page()
    assert app.get("/device").status_code == 403

    # Blocked for good, after the confirmation page.
    page.locator(f"li[data-device='{app.device_id}'] a[data-action=block-permanently]").click()
    expect(page).to_have_url(re.compile(r"/block-permanently/$"))
    check_page()
    _no_sideways_scroll(page)
    page.locator("input[name=confirm]").check()
    page.locator("#block-permanently-submit").click()
    expect(page).to_have_url(re.compile(r"/bs-pay/$"))
    expect(page.locator(f"li[data-device='{app.device_id}']")).to_have_attribute("data-state", "blocked_permanently")
    check_page()
    assert AppDevice.objects.get(public_id=app.device_id).state == DeviceState.BLOCKED_PERMANENTLY


def test_unblocking_a_device_needs_the_sms_code(page: Page, live_server, check_page, anna, cardholder):
    page.set_viewport_size({"width": 375, "height": 740})
    actor = Actor.for_user(anna)
    activation = services.device_activation_code_issue(actor=actor, customer=cardholder.customer)
    code = services.device_activation_code_reveal(actor=actor, activation=activation)
    assert code is not None
    device = services.device_activate(
        pin=DEFAULT_PIN,
        customer=cardholder.customer,
        code=code,
        public_key=AppClient().public_key,
        device_name="iPhone",
    )
    services.device_block_temporarily(actor=actor, device=device)
    sign_in_as(page, live_server, anna)
    page.goto("/bs-pay/")
    check_page()
    page.locator(f"li[data-device='{device.public_id}'] button[data-action=unblock]").click()
    expect(page).to_have_url(re.compile(r"/confirm/[0-9a-f-]{36}/$"))
    check_page()
    page.get_by_label("Kod SMS").fill(last_sms_code(PHONE))
    page.get_by_role("button", name="Potwierdź").click()
    expect(page).to_have_url(re.compile(r"/bs-pay/$"))
    expect(page.locator(f"li[data-device='{device.public_id}']")).to_have_attribute("data-state", "active")
    check_page()
