"""Change PIN and activate mobile payments in a real browser, with the SMS code (axe + CSP on every page)."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from kartosfera.cards.pin import pin_matches
from tests.browser.helpers import confirm_with_code, open_card, sign_in

pytestmark = pytest.mark.browser

NEW_PIN = "5930"


def pl(source: str, **params: str) -> str:
    """The Polish text for an English source string (the source itself until the lead translates it)."""
    with translation.override("pl"):
        text = translation.gettext(source)
    return text % params if params else text


def test_change_the_pin_with_the_code_after_a_trivial_one_is_refused(page: Page, check_page, cardholder, annas_card):
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    open_card(page, check_page, annas_card)

    page.get_by_role("link", name=pl("Change the PIN")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(pl("Change the PIN"))
    check_page()

    # A trivial PIN: refused with the reason, and the form comes back with both fields empty.
    page.get_by_label(pl("New PIN"), exact=True).fill("1234")
    page.get_by_label(pl("New PIN again"), exact=True).fill("1234")
    page.get_by_role("button", name=pl("Change the PIN")).click()
    expect(page.get_by_role("alert")).to_contain_text(
        pl("The PIN cannot be a run of consecutive digits, like 1234 or 4321.")
    )
    expect(page.get_by_label(pl("New PIN"), exact=True)).to_have_value("")
    expect(page.get_by_label(pl("New PIN again"), exact=True)).to_have_value("")
    check_page()

    page.get_by_label(pl("New PIN"), exact=True).fill(NEW_PIN)
    page.get_by_label(pl("New PIN again"), exact=True).fill(NEW_PIN)
    page.get_by_role("button", name=pl("Change the PIN")).click()
    confirm_with_code(page, check_page, pl("change of the PIN of card %(card)s", card=f"*{annas_card.pan_last4}"))
    expect(page).to_have_url(re.compile(rf"/cards/{annas_card.pk}/$"))
    expect(page.get_by_role("status").first).to_contain_text(
        pl("The PIN has been changed. Use the new PIN from now on.")
    )
    check_page()

    annas_card.refresh_from_db()
    assert pin_matches(NEW_PIN, card=annas_card)


def test_activate_mobile_payments_with_the_code(page: Page, check_page, cardholder, annas_card):
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    open_card(page, check_page, annas_card)
    expect(page.locator("#mobile-payments-state")).to_have_text(pl("Not active"))

    page.get_by_role("button", name=pl("Activate mobile payments")).click()
    confirm_with_code(
        page, check_page, pl("activation of mobile payments of card %(card)s", card=f"*{annas_card.pan_last4}")
    )
    expect(page).to_have_url(re.compile(rf"/cards/{annas_card.pk}/$"))
    expect(page.get_by_role("status").first).to_contain_text(
        pl("Mobile payments are active: you can add the card to a phone wallet or BS Pay.")
    )
    expect(page.locator("#mobile-payments-state")).to_have_text(
        pl("Active: the card can be added to a phone wallet or BS Pay")
    )
    expect(page.get_by_role("button", name=pl("Activate mobile payments"))).to_have_count(0)
    check_page()

    annas_card.refresh_from_db()
    assert annas_card.mobile_payments_enabled is True
