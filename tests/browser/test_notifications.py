"""Settings → Notifications in a real browser: the CBPR2 message switched off with the keyboard, axe on each page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer
from tests.browser.test_settings_and_session import sign_in_as

pytestmark = pytest.mark.browser


def test_the_holder_switches_the_conversion_charge_message_off_and_on(page: Page, live_server, check_page, cardholder):
    sign_in_as(page, live_server, cardholder.user)
    page.goto("/settings/")
    check_page()
    page.get_by_role("link", name="SMS-y o kosztach przewalutowania").click()
    expect(page).to_have_url(re.compile(r"/settings/notifications/$"))
    check_page()

    box = page.get_by_label("Wysyłaj mi SMS o koszcie przewalutowania")
    expect(box).to_be_checked()
    box.focus()
    page.keyboard.press("Space")  # the keyboard alone
    expect(box).not_to_be_checked()
    page.get_by_role("button", name="Zapisz").click()

    expect(page).to_have_url(re.compile(r"/settings/$"))
    expect(page.locator(".messages")).to_contain_text("Ustawienia powiadomień zostały zapisane.")
    expect(page.locator("#conversion-charge-sms-state")).to_have_text("Wyłączone.")
    check_page()
    assert not Customer.objects.get(pk=cardholder.customer.pk).conversion_charge_sms

    page.goto("/settings/notifications/")
    check_page()
    page.get_by_label("Wysyłaj mi SMS o koszcie przewalutowania").check()
    page.get_by_role("button", name="Zapisz").click()
    expect(page.locator("#conversion-charge-sms-state")).to_contain_text("Włączone")
    check_page()
    assert Customer.objects.get(pk=cardholder.customer.pk).conversion_charge_sms
    assert AuditEvent.objects.filter(action="customers.conversion_charge_sms.changed").count() == 2


@pytest.mark.parametrize("width", [375, 1280])
def test_the_notifications_page_fits_a_phone_and_a_desktop(page: Page, live_server, check_page, cardholder, width):
    page.set_viewport_size({"width": width, "height": 800})
    sign_in_as(page, live_server, cardholder.user)
    page.goto("/settings/notifications/")
    check_page()
    overflow = page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    assert not overflow
