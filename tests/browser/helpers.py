from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from kartosfera.notifications.backends import locmem

IDENTIFIER_LABEL = "PESEL, numer identyfikacyjny lub login"


# Anna's portal phone in the browser tests (the conftest's ``anna`` fixture sets it).
ANNAS_PHONE = "+48601000111"


def last_sms_code(to: str | None = None) -> str:
    """The 6-digit code of the last text message (to ``to``); the live server shares this process's outbox."""
    messages = [m for m in locmem.outbox if to is None or m.to == to]
    assert messages, "no SMS in the outbox"
    match = re.search(r"\b([0-9]{6})\b", messages[-1].text)
    assert match, messages[-1].text
    return match.group(1)


def enter_password(page: Page, check_page: Callable[[], None], identifier: str, password: str) -> None:
    """Step 1 of signing in, from the login page (checked on the way)."""
    page.goto("/login/")
    check_page()
    page.get_by_label(IDENTIFIER_LABEL).fill(identifier)
    page.get_by_label("Hasło").fill(password)
    page.get_by_role("button", name="Zaloguj się").click()


def enter_code(page: Page, check_page: Callable[[], None], to: str | None = None) -> None:
    """Step 2 of signing in: the SMS code (the code page is checked on the way)."""
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Wpisz kod SMS")
    check_page()
    page.get_by_role("textbox", name="Kod SMS").fill(last_sms_code(to))
    page.get_by_role("button", name="Potwierdź i zaloguj się").click()


def sign_in(page: Page, check_page: Callable[[], None], identifier: str, password: str) -> None:
    """Sign in through the login form and the SMS code, landing on the card list."""
    enter_password(page, check_page, identifier, password)
    enter_code(page, check_page)
    expect(page).to_have_url(re.compile(r"/cards/$"))


def open_card(page: Page, check_page: Callable[[], None], card: Any) -> None:
    """Open a card's page and check it."""
    page.goto(f"/cards/{card.pk}/")
    expect(page.get_by_role("heading", level=2, name="Zarządzaj kartą")).to_be_visible()
    check_page()


def confirm_with_code(page: Page, check_page: Callable[[], None], description: str) -> None:
    """On the confirmation page, check what it names, then type the latest SMS code."""
    expect(page).to_have_url(re.compile(r"/confirm/[0-9a-f-]{36}/$"))
    expect(page.locator("#operation-description")).to_have_text(description)
    check_page()
    page.get_by_label("Kod SMS").fill(last_sms_code())
    page.get_by_role("button", name="Potwierdź").click()


# --- The back office (bank staff) ----------------------------------------------------------

STAFF_USERNAME_LABEL = "Nazwa użytkownika"
STAFF_CODE_LABEL = "Kod z aplikacji uwierzytelniającej"


def staff_sign_in(page: Page, check_page: Callable[[], None], person: Any) -> None:
    """Sign a StaffPerson in to the back office: user name and password, then the authenticator code."""
    page.goto("/backoffice/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Logowanie do zaplecza")
    check_page()
    page.get_by_label(STAFF_USERNAME_LABEL).fill(person.username)
    page.get_by_label("Hasło", exact=True).fill(person.password)
    page.get_by_role("button", name="Dalej").click()
    expect(page).to_have_url(re.compile(r"/backoffice/login/code/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Kod z aplikacji")
    check_page()
    page.get_by_label(STAFF_CODE_LABEL).fill(person.code())
    page.get_by_role("button", name="Zaloguj się").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Znajdź klienta")
    check_page()


def staff_verify_by_phone(
    page: Page, check_page: Callable[[], None], *, identifier: str, birth_date: str, card_last4: str
) -> None:
    """On a customer's page, record a passed phone verification (PESEL, date of birth, card's last 4 digits)."""
    page.get_by_label("PESEL lub numer identyfikacyjny podany przez klienta").fill(identifier)
    page.get_by_label("Data urodzenia podana przez klienta").fill(birth_date)
    page.get_by_label("4 ostatnie cyfry karty podane przez klienta").fill(card_last4)
    page.get_by_role("button", name="Zapisz weryfikację").click()
    expect(page.locator("#flash")).to_have_text(
        "Klient zweryfikowany. Przez następne 30 minut możesz wykonywać czynności w imieniu klienta."
    )
    check_page()


def virtual_authenticator(page: Page) -> None:
    """Chromium's virtual platform authenticator with user verification (a fingerprint reader that says yes).

    WebAuthn refuses IP addresses as relying party ids: pages using it are opened as http://localhost:<port>.
    """
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
