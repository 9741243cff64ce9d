"""A card's tokens in phone wallets in a real browser: list, suspend, resume with the SMS code, delete (axe + CSP)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kartosfera.cards.operations_services import card_mobile_payments_activate
from kartosfera.testing import factories
from kartosfera.testing.tokens import token_factory
from kartosfera.tokens.models import Token
from kartosfera.tokens.states import TokenStatus, Wallet
from tests.browser.helpers import last_sms_code, open_card, sign_in

pytestmark = pytest.mark.browser


def test_list_suspend_resume_with_the_code_and_delete_a_token(page: Page, check_page, cardholder, annas_card):
    card = card_mobile_payments_activate(actor=factories.SYSTEM, card=annas_card)
    watch = token_factory(card=card, wallet=Wallet.GARMIN_PAY, device_name="Fenix 7")
    phone = token_factory(card=card, wallet=Wallet.GOOGLE_PAY, device_name="Pixel 8")
    # A phone's screen: the journey a holder who just lost their watch takes on the phone.
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    open_card(page, check_page, card)

    page.locator("#card-tokens-link").click()
    expect(page).to_have_url(re.compile(rf"/cards/{card.pk}/tokens/$"))
    expect(page.locator("[data-token-id]")).to_have_count(2)
    watch_item = page.locator(f"#token-{watch.pk}")
    expect(watch_item).to_contain_text("Garmin Pay")
    expect(watch_item).to_contain_text("Fenix 7")
    expect(watch_item).to_contain_text(f"•••• {watch.token_last4}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    check_page()

    # Suspend: at once, no code.
    watch_item.locator('[data-action="suspend"]').click()
    expect(page.locator(f"#token-{watch.pk}")).to_have_attribute("data-status", "suspended")
    expect(page.locator(f"#token-{watch.pk}")).to_have_attribute("data-suspended-by", "holder")
    check_page()

    # Resume: the SMS code, whose confirmation page names the card, the wallet and the token.
    page.locator(f"#token-{watch.pk}").locator('[data-action="resume"]').click()
    expect(page).to_have_url(re.compile(r"/confirm/[0-9a-f-]{36}/$"))
    description = page.locator("#operation-description")
    expect(description).to_contain_text(f"*{card.pan_last4}")
    expect(description).to_contain_text(f"*{watch.token_last4}")
    expect(description).to_contain_text("Garmin Pay")
    check_page()
    page.get_by_label("Kod SMS").fill(last_sms_code())
    page.get_by_role("button", name="Potwierdź").click()
    expect(page).to_have_url(re.compile(rf"/cards/{card.pk}/tokens/$"))
    expect(page.locator(f"#token-{watch.pk}")).to_have_attribute("data-status", "active")
    check_page()

    # Delete: a confirmation page first.
    page.locator(f"#token-{phone.pk}").locator('[data-action="delete"]').click()
    expect(page.locator("#confirm-delete")).to_be_visible()
    check_page()
    page.locator("#confirm-delete").click()
    expect(page).to_have_url(re.compile(rf"/cards/{card.pk}/tokens/$"))
    expect(page.locator("[data-token-id]")).to_have_count(1)
    check_page()

    watch.refresh_from_db()
    assert (watch.status, watch.suspended_by) == (TokenStatus.ACTIVE, "")
    assert Token.objects.get(pk=phone.pk).status == TokenStatus.DELETED
