"""The journeys a cardholder takes, in a real browser, with axe-core on every page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from kartosfera.cards.services import card_transition
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.testing import factories
from kartosfera.users.models import User, UserKind
from tests.browser.helpers import enter_code, last_sms_code, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def annas_cards(cardholder, debit_product, credit_product):
    return [
        factories.card_factory(customer=cardholder.customer, product=debit_product),
        factories.card_factory(customer=cardholder.customer, product=credit_product),
    ]


@pytest.mark.embedded_db  # the demo runs on SQLite: this journey runs on both databases
def test_sign_in_see_cards_open_one_switch_language_and_sign_out(
    page: Page, live_server, check_page, cardholder, annas_cards
):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/cards/$"))
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    check_page()

    page.get_by_label("PESEL, numer identyfikacyjny lub login").fill(cardholder.identifier)
    page.get_by_label("Hasło").fill(cardholder.password)
    page.get_by_role("button", name="Zaloguj się").click()
    enter_code(page, check_page)

    expect(page.get_by_role("heading", level=1)).to_have_text("Moje karty")
    expect(page.locator(".card-tile")).to_have_count(2)
    check_page()

    credit = annas_cards[1]
    page.get_by_role("link", name=re.compile(rf"Mastercard Gold.*{credit.pan_last4}")).click()
    expect(page).to_have_url(re.compile(rf"/cards/{credit.pk}/$"))
    expect(page.get_by_role("heading", level=2, name="Limity dzienne")).to_be_visible()
    expect(page.get_by_text("Limit kredytowy")).to_be_visible()
    check_page()

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(rf"/cards/{credit.pk}/$"))
    expect(page.get_by_role("heading", level=2, name="Daily limits")).to_be_visible()
    check_page()

    page.get_by_role("button", name="Polski").click()
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    expect(page.get_by_role("heading", level=2, name="Limity dzienne")).to_be_visible()
    check_page()

    page.get_by_role("link", name="Moje karty").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Moje karty")
    check_page()

    page.get_by_role("button", name="Wyloguj się").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("status")).to_contain_text("Wylogowano z portalu.")
    check_page()

    page.goto(f"{live_server.url}/cards/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/cards/$"))
    check_page()


def test_wrong_password_shows_the_generic_error_accessibly(page: Page, live_server, check_page, cardholder):
    page.goto(f"{live_server.url}/login/")
    check_page()

    page.get_by_label("PESEL, numer identyfikacyjny lub login").fill(cardholder.identifier)
    page.get_by_label("Hasło").fill("to-nie-jest-moje-haslo")
    page.get_by_role("button", name="Zaloguj się").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nieprawidłowy identyfikator lub hasło.")
    expect(alert).to_contain_text("zadzwoń na infolinię: +48 86 215 50 00")
    check_page()


def test_phone_sized_screen_shows_the_cards_without_horizontal_scrolling(
    page: Page, live_server, check_page, cardholder, annas_cards, business_product
):
    company = factories.card_factory(customer=cardholder.customer, product=business_product)
    # "Czasowo zablokowana" is the longest status: it must still fit its tile.
    card_transition(actor=factories.SYSTEM, card=company, to_status=CardStatus.ACTIVE, reason=StatusReason.ACTIVATED)
    card_transition(
        actor=factories.SYSTEM, card=company, to_status=CardStatus.BLOCKED, reason=StatusReason.BLOCKED_BY_CUSTOMER
    )
    page.set_viewport_size({"width": 375, "height": 812})

    page.goto(f"{live_server.url}/login/")
    check_page()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    expect(page.locator(".card-tile")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for tile in page.locator(".card-tile").all():
        box = tile.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        badge = tile.locator(".badge").bounding_box()
        assert badge is not None and badge["x"] + badge["width"] <= box["x"] + box["width"]

    page.locator(".card-tile__link").first.click()
    expect(page.get_by_role("heading", level=2, name="Limity dzienne")).to_be_visible()
    check_page()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_keyboard_only_reaches_the_skip_link_and_signs_in_with_enter(
    page: Page, live_server, check_page, cardholder, annas_cards
):
    page.goto(f"{live_server.url}/login/")
    check_page()

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Przejdź do treści strony")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"

    page.keyboard.press("Enter")  # follow the skip link to <main>
    page.keyboard.press("Tab")
    identifier = page.get_by_label("PESEL, numer identyfikacyjny lub login")
    expect(identifier).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.type(cardholder.identifier)

    page.keyboard.press("Tab")
    expect(page.get_by_label("Hasło")).to_be_focused()
    page.keyboard.type(cardholder.password)
    page.keyboard.press("Enter")

    # The SMS code: the skip link, then the code field, typed and sent with Enter.
    expect(page.get_by_role("heading", level=1)).to_have_text("Wpisz kod SMS")
    check_page()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Przejdź do treści strony")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("textbox", name="Kod SMS")).to_be_focused()
    page.keyboard.type(last_sms_code())
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Moje karty")
    check_page()

    # Tabbing on from the top of the list reaches the security history (in the
    # page header, under the previous sign-in), the way to stop all payments, then the first card's link.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Przejdź do treści strony")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Historia bezpieczeństwa")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#stop-link")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator(".card-tile__link").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=2, name="Limity dzienne")).to_be_visible()
    check_page()


def test_not_found_page_is_accessible(page: Page, live_server, check_page, cardholder, second_cardholder):
    others = factories.card_factory(customer=second_cardholder.customer)
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()

    response = page.goto(f"{live_server.url}/cards/{others.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Nie znaleziono strony")
    check_page()


def test_access_denied_page_is_accessible(page: Page, live_server, check_page, settings, db):
    # Staff sign in through the back office (a later milestone); Django's
    # ModelBackend stands in for its backend, and the session is handed to the browser.
    model_backend = "django.contrib.auth.backends.ModelBackend"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, model_backend]
    staff = User.objects.create_user(username="agent.kowalska", password="Staff-password-123", kind=UserKind.STAFF)
    client = Client()
    client.force_login(staff, backend=model_backend)
    session_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie, "url": live_server.url}])

    response = page.goto(f"{live_server.url}/cards/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Brak dostępu")
    check_page()
