"""Decline notices in a real browser on a phone: the card page lists a decline, the holder stops its SMS."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from kartosfera.notices.selectors import decline_sms_enabled
from kartosfera.notices.tests.helpers import decline
from kartosfera.processing.codes import Reason
from kartosfera.processing.tests.helpers import card_of
from kartosfera.profile.forms import NotificationsForm
from tests.browser.test_settings_and_session import sign_in_as

pytestmark = pytest.mark.browser


def test_the_card_page_lists_a_declined_payment_and_its_sms_is_switched_off(
    page: Page, live_server, check_page, cardholder, debit_product
):
    page.set_viewport_size({"width": 375, "height": 800})
    tc = card_of(cardholder.customer, debit_product)
    decline(tc, Reason.MOBILE_PAYMENTS_DISABLED, merchant_name="Żabka Łomża")
    sign_in_as(page, live_server, cardholder.user)

    page.goto(f"/cards/{tc.card.pk}/")
    check_page()
    declines = page.locator("#declines")
    expect(declines).to_contain_text("Żabka Łomża")
    expect(declines).to_contain_text("42,50")
    assert not page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")

    page.locator("#decline-sms-link").click()
    expect(page).to_have_url(re.compile(r"/settings/notifications/$"))
    check_page()
    with translation.override("pl"):
        label = str(NotificationsForm.base_fields["decline_sms"].label)
    box = page.get_by_label(label)
    expect(box).to_be_checked()
    box.focus()
    page.keyboard.press("Space")
    expect(box).not_to_be_checked()
    page.get_by_role("button", name="Zapisz").click()
    expect(page).to_have_url(re.compile(r"/settings/$"))
    check_page()
    expect(page.locator("#decline-sms-state")).to_have_text("Wyłączone.")
    assert not decline_sms_enabled(customer=cardholder.customer)
