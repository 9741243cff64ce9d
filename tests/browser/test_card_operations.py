"""Card self-service in a real browser: block, unblock, cancel, limits, contactless (axe + CSP on every page)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kartosfera.cards.operations_services import card_activate, card_block_temporarily, card_mobile_payments_activate
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType
from kartosfera.testing import factories
from tests.browser.helpers import confirm_with_code, last_sms_code, open_card, sign_in

pytestmark = pytest.mark.browser


def test_block_then_unblock_with_the_code_and_switch_contactless_off(page: Page, check_page, cardholder, annas_card):
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    open_card(page, check_page, annas_card)

    page.get_by_role("button", name="Wyłącz płatności zbliżeniowe").click()
    expect(page.get_by_role("status").first).to_contain_text("Płatności zbliżeniowe są wyłączone.")
    expect(page.get_by_role("button", name="Włącz płatności zbliżeniowe")).to_be_visible()
    check_page()

    page.get_by_role("link", name="Zablokuj czasowo").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zablokuj kartę czasowo")
    check_page()
    page.get_by_label("Notatka (opcjonalnie)").fill("zostawiona na siłowni")
    page.get_by_role("button", name="Zablokuj kartę teraz").click()
    expect(page).to_have_url(re.compile(rf"/cards/{annas_card.pk}/$"))
    expect(page.get_by_role("status").first).to_contain_text("Karta jest tymczasowo zablokowana.")
    expect(page.get_by_text("Blokada zmieni się w zastrzeżenie")).to_be_visible()
    expect(page.locator(".history-table")).to_contain_text("Zablokowano kartę czasowo")
    check_page()

    page.get_by_role("button", name="Odblokuj kartę").click()
    confirm_with_code(page, check_page, f"odblokowanie karty *{annas_card.pan_last4}")
    expect(page).to_have_url(re.compile(rf"/cards/{annas_card.pk}/$"))
    expect(page.get_by_role("status").first).to_contain_text("Karta jest odblokowana.")
    check_page()

    annas_card.refresh_from_db()
    assert (annas_card.status, annas_card.contactless_enabled) == (CardStatus.ACTIVE, False)


def test_cancel_with_the_explicit_confirmation(page: Page, check_page, cardholder, annas_card):
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    open_card(page, check_page, annas_card)

    page.get_by_role("link", name="Zastrzeż kartę").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zastrzeż kartę")
    check_page()
    page.get_by_label("Kradzież karty").check()
    page.get_by_role("button", name="Zastrzeż kartę na zawsze").click()
    expect(page.get_by_role("alert")).to_contain_text("Zaznacz pole, aby potwierdzić, że chcesz zastrzec kartę.")
    check_page()
    annas_card.refresh_from_db()
    assert annas_card.status == CardStatus.ACTIVE

    page.get_by_label("Kradzież karty").check()
    page.get_by_label("Rozumiem, że tego nie można cofnąć").check()
    page.get_by_role("button", name="Zastrzeż kartę na zawsze").click()
    expect(page.get_by_role("status").first).to_contain_text("Karta jest zastrzeżona.")
    # A cancelled card's page shows no operations, only what to do next.
    expect(page.get_by_role("heading", name="Co dalej")).to_be_visible()
    expect(page.locator("#mobile-payments-state")).to_have_text("Nie dotyczy")
    expect(page.get_by_role("heading", name="Zarządzaj kartą")).to_have_count(0)
    check_page()

    annas_card.refresh_from_db()
    assert (annas_card.status, annas_card.status_reason) == (CardStatus.CANCELLED, StatusReason.STOLEN)


def test_raise_a_limit_with_the_code_and_business_limits_are_read_only(
    page: Page, check_page, cardholder, annas_card, business_product
):
    company_card = card_activate(
        actor=factories.SYSTEM, card=factories.card_factory(customer=cardholder.customer, product=business_product)
    )
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    open_card(page, check_page, annas_card)

    page.get_by_role("link", name="Zmień limity").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zmień limity dzienne")
    check_page()
    page.get_by_label("Limit internetowy").fill("2 000,00")
    page.get_by_role("button", name="Zapisz limity").click()
    confirm_with_code(page, check_page, f"zmiana limitu internetowego karty *{annas_card.pan_last4} na 2 000,00 PLN")
    expect(page.get_by_role("status").first).to_contain_text("Limity karty zostały zmienione.")
    check_page()
    annas_card.refresh_from_db()
    assert annas_card.internet_limit_minor == 200_000

    # The refusal: a business card's limits are shown, never editable.
    open_card(page, check_page, company_card)
    expect(page.get_by_role("link", name="Zmień limity")).to_have_count(0)
    page.goto(f"/cards/{company_card.pk}/limits/")
    expect(page).to_have_url(re.compile(rf"/cards/{company_card.pk}/$"))
    expect(page.get_by_role("alert").or_(page.get_by_role("status")).first).to_contain_text(
        "Limity karty firmowej ustala Twoja firma z bankiem."
    )
    check_page()


def test_activate_a_new_card_with_the_code_after_a_wrong_one(page: Page, check_page, cardholder, debit_product):
    new_card = factories.card_factory(customer=cardholder.customer, product=debit_product)
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    page.goto(f"/cards/{new_card.pk}/")
    expect(page.get_by_text("Nieaktywowana").first).to_be_visible()
    check_page()

    page.get_by_role("button", name="Aktywuj kartę").click()
    expect(page).to_have_url(re.compile(r"/confirm/[0-9a-f-]{36}/$"))
    expect(page.locator("#operation-description")).to_have_text(f"aktywacja karty *{new_card.pan_last4}")
    check_page()
    # A wrong code first: refused with the tries left, the card stays inactive.
    code = last_sms_code()
    page.get_by_label("Kod SMS").fill(f"{(int(code) + 1) % 10**6:06d}")
    page.get_by_role("button", name="Potwierdź").click()
    expect(page.get_by_role("alert").first).to_contain_text("2")
    check_page()
    new_card.refresh_from_db()
    assert new_card.status == CardStatus.INACTIVE

    page.get_by_label("Kod SMS").fill(code)
    page.get_by_role("button", name="Potwierdź").click()
    expect(page).to_have_url(re.compile(rf"/cards/{new_card.pk}/$"))
    check_page()
    new_card.refresh_from_db()
    assert new_card.status == CardStatus.ACTIVE


def test_a_bank_block_says_whom_to_call_and_mobile_payments_switch_off_without_a_code(
    page: Page, check_page, cardholder, annas_card
):
    card_mobile_payments_activate(actor=Actor.system("tests"), card=annas_card)
    card_block_temporarily(actor=Actor(type=ActorType.STAFF, id="0", label="agent"), card=annas_card)
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    open_card(page, check_page, annas_card)

    expect(page.locator("#bank-block-note")).to_contain_text("Kartę zablokował bank")
    expect(page.get_by_role("button", name="Odblokuj kartę")).to_have_count(0)
    page.get_by_role("button", name="Wyłącz płatności mobilne").click()
    expect(page.get_by_role("status").first).to_contain_text("Płatności mobilne tej karty są wyłączone.")
    expect(page.locator("#mobile-payments-state")).to_have_text("Nieaktywne")
    check_page()

    annas_card.refresh_from_db()
    assert (annas_card.status_reason, annas_card.mobile_payments_enabled) == (StatusReason.BLOCKED_BY_BANK, False)
