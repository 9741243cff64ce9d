"""The access journey in a real browser: register, sign in with an SMS code, get locked out, come back next day.

Every page on the way is checked with axe-core and for CSP violations.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from playwright.sync_api import Page, expect

from kartosfera.notifications.backends import locmem
from kartosfera.testing import factories
from kartosfera.users.models import User
from tests.browser.helpers import IDENTIFIER_LABEL, enter_code, enter_password, last_sms_code

pytestmark = pytest.mark.browser

PASSWORD = "Ćma nad łąką o zmierzchu"
# The whole answer to an unknown identifier, a wrong password and a locked access with the right one.
GENERIC_ANSWER = re.compile(
    r"^\s*Nieprawidłowy identyfikator lub hasło\.\s+Po 3 błędnych hasłach z rzędu dostęp do portalu zostaje "
    r"zablokowany do północy, a na numer telefonu zapisany w banku wysyłamy SMS\. Aby odblokować dostęp tego "
    r"samego dnia, zadzwoń na infolinię: \+48 86 215 50 00 lub odwiedź placówkę swojego banku\.\s*$"
)
NEW_PHONE = "+48512345678"


def _last_activation_password(to: str) -> str:
    texts = [m.text for m in locmem.outbox if m.to == to]
    assert texts, "no activation password in the outbox"
    match = re.search(r"\b([A-Z2-9]{10})\b", texts[-1])
    assert match, texts[-1]
    return match.group(1)


def _sign_out(page: Page, check_page) -> None:
    page.get_by_role("button", name="Wyloguj się").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.locator(".messages")).to_contain_text("Wylogowano z portalu.")
    check_page()


def _change_portal_phone(page: Page, check_page, *, old_phone: str) -> None:
    """Settings → phone: the password, then a code to the current number and one to the new number."""
    page.goto("/settings/phone/")
    check_page()
    page.locator('input[name="new_phone"]').fill(NEW_PHONE)
    page.get_by_label("Obecne hasło", exact=True).fill(PASSWORD)
    page.locator('form[action="/settings/phone/"] button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/confirm/"))
    check_page()
    page.locator('input[name="code"]').fill(last_sms_code(to=old_phone))
    page.locator('input[name="verification_code"]').fill(last_sms_code(to=NEW_PHONE))
    page.locator('form[action*="/confirm/"] button[type="submit"]').first.click()
    expect(page).to_have_url(re.compile(r"/settings/$"))
    expect(page.locator(".messages")).to_be_visible()
    check_page()


@pytest.mark.embedded_db  # the demo runs on SQLite: this journey runs on both databases
def test_register_sign_in_get_locked_out_and_sign_in_again_the_next_day(
    page: Page, live_server, check_page, stranger, debit_product
):
    factories.card_factory(customer=stranger.customer, product=debit_product)
    phone = stranger.customer.phone_on_file

    # Registration: "Zarejestruj się" from the sign-in page.
    page.goto(f"{live_server.url}/login/")
    check_page()
    page.get_by_role("link", name="Zarejestruj się").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zarejestruj się")
    check_page()
    page.get_by_label("PESEL lub numer identyfikacyjny").fill(stranger.identifier)
    page.get_by_role("button", name="Dalej").click()

    # The activation password is sent on request; the page shows no phone number, so it tells nobody
    # who is a customer of the bank [ASVS 5.0 6.3.8].
    expect(page.get_by_role("heading", level=1)).to_have_text("Hasło aktywacyjne")
    expect(page.locator("main")).not_to_contain_text(phone[-3:])
    expect(page.locator("main")).not_to_contain_text("***")
    expect(page.locator("#registration-no-sms a[href^='tel:']")).to_be_visible()
    check_page()
    page.get_by_role("button", name="Wyślij hasło aktywacyjne").click()

    # First login with the activation password.
    expect(page.get_by_role("heading", level=1)).to_have_text("Wpisz hasło aktywacyjne")
    expect(page.locator("main")).not_to_contain_text(phone[-3:])
    check_page()
    page.get_by_role("textbox", name="Hasło aktywacyjne").fill(_last_activation_password(phone))
    page.get_by_role("button", name="Dalej").click()

    # The user's own password (first a too short one: the error is accessible too).
    expect(page.get_by_role("heading", level=1)).to_have_text("Ustaw hasło")
    check_page()
    page.get_by_label("Nowe hasło", exact=True).fill("krótkie")
    page.get_by_label("Powtórz nowe hasło").fill("krótkie")
    page.get_by_role("button", name="Ustaw hasło i zaloguj się").click()
    expect(page.get_by_text("Hasło jest za krótkie: musi mieć co najmniej 10 znaków.")).to_be_visible()
    check_page()
    page.get_by_label("Nowe hasło", exact=True).fill(PASSWORD)
    page.get_by_label("Powtórz nowe hasło").fill(PASSWORD)
    page.get_by_role("button", name="Ustaw hasło i zaloguj się").click()

    expect(page).to_have_url(re.compile(r"/cards/$"))
    expect(page.locator(".messages")).to_contain_text("Rejestracja zakończona. Witamy w Kartosferze!")
    expect(page.get_by_text("To Twoje pierwsze logowanie do portalu.")).to_be_visible()
    check_page()
    _sign_out(page, check_page)

    # Signing in: the password, then the SMS code.
    enter_password(page, check_page, stranger.identifier, PASSWORD)
    expect(page.get_by_text(f"+48 *** *** {phone[-3:]}")).to_be_visible()
    enter_code(page, check_page, to=phone)
    expect(page.get_by_role("heading", level=1)).to_have_text("Moje karty")
    expect(page.get_by_text("Poprzednie logowanie:")).to_be_visible()
    check_page()

    page.get_by_role("link", name="Historia bezpieczeństwa").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bezpieczeństwo")
    expect(page.get_by_role("cell", name="Zarejestrowano i ustawiono hasło")).to_be_visible()
    check_page()

    _change_portal_phone(page, check_page, old_phone=phone)
    code_phone = NEW_PHONE
    assert User.objects.get(customer=stranger.customer).portal_phone == NEW_PHONE
    _sign_out(page, check_page)

    # Three wrong passwords: the same generic error each time, then the lock.
    for _ in range(3):
        enter_password(page, check_page, stranger.identifier, "to-nie-jest-moje-haslo")
        expect(page.get_by_role("alert")).to_have_text(GENERIC_ANSWER)
        check_page()
    user = User.objects.get(customer=stranger.customer)
    assert user.locked_until is not None
    assert any("zablokowano" in m.text for m in locmem.outbox if m.to == code_phone)

    # Even the right password gets the generic error while locked (no oracle for a
    # guesser); the owner learnt from the SMS until when, and how to unlock it today.
    # The one answer explains the lock and how to lift it today, to everybody alike.
    enter_password(page, check_page, stranger.identifier, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text(GENERIC_ANSWER)
    check_page()

    # The next day in Warsaw the lock has lifted itself.
    with time_machine.travel(user.locked_until + dt.timedelta(minutes=1), tick=True):
        enter_password(page, check_page, stranger.identifier, PASSWORD)
        enter_code(page, check_page, to=code_phone)
        expect(page.get_by_role("heading", level=1)).to_have_text("Moje karty")
        check_page()


def test_a_wrong_code_three_times_sends_the_user_back_with_a_message(page: Page, live_server, check_page, cardholder):
    enter_password(page, check_page, cardholder.identifier, cardholder.password)
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    check_page()
    code = last_sms_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    field = page.get_by_role("textbox", name="Kod SMS")

    field.fill(wrong)
    page.get_by_role("button", name="Potwierdź i zaloguj się").click()
    expect(page.get_by_text("Kod jest nieprawidłowy. Pozostałe próby: 2.")).to_be_visible()
    expect(field).to_have_attribute("aria-invalid", "true")
    check_page()
    field.fill(wrong)
    page.get_by_role("button", name="Potwierdź i zaloguj się").click()
    expect(page.get_by_text("Kod jest nieprawidłowy. Pozostałe próby: 1.")).to_be_visible()
    check_page()
    field.fill(wrong)
    page.get_by_role("button", name="Potwierdź i zaloguj się").click()

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.locator(".messages")).to_contain_text("Trzy razy wpisano błędny kod SMS. Zaloguj się ponownie.")
    expect(page.get_by_label(IDENTIFIER_LABEL)).to_be_visible()
    check_page()


def test_too_many_attempts_show_an_accessible_429_page(page: Page, live_server, check_page, db):
    for n in range(10):
        enter_password(page, check_page, "99999999999", f"zgadywanie-{n}")
        check_page()

    enter_password(page, check_page, "99999999999", "jeszcze-raz")

    expect(page.get_by_role("heading", level=1)).to_have_text("Zbyt wiele prób")
    check_page()


def test_an_identifier_that_names_nobody_walks_the_same_registration_pages(page: Page, live_server, check_page, db):
    """Nobody learns from the registration who is a customer [ASVS 5.0 6.3.8]: the same pages, no text message."""
    locmem.outbox.clear()
    page.goto(f"{live_server.url}/register/")
    check_page()
    page.get_by_label("PESEL lub numer identyfikacyjny").fill(factories.make_pesel(dt.date(1970, 1, 1), 999))
    page.get_by_role("button", name="Dalej").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Hasło aktywacyjne")
    check_page()
    page.get_by_role("button", name="Wyślij hasło aktywacyjne").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Wpisz hasło aktywacyjne")
    check_page()
    field = page.get_by_role("textbox", name="Hasło aktywacyjne")
    for left in (2, 1):
        field.fill("ABCDEFGHJK")
        page.get_by_role("button", name="Dalej").click()
        expect(page.get_by_text(f"Kod jest nieprawidłowy. Pozostałe próby: {left}.")).to_be_visible()
        expect(field).to_have_attribute("aria-invalid", "true")
        check_page()
    field.fill("ABCDEFGHJK")
    page.get_by_role("button", name="Dalej").click()

    expect(page).to_have_url(re.compile(r"/register/$"))
    expect(page.locator(".messages")).to_contain_text("Trzy razy wpisano błędne hasło aktywacyjne")
    check_page()
    assert not locmem.outbox
