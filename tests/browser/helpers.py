from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect


def sign_in(page: Page, check_page: Callable[[], None], identifier: str, password: str) -> None:
    """Sign in through the login form (checking the login page on the way)."""
    page.goto("/login/")
    check_page()
    page.get_by_label("PESEL, numer identyfikacyjny lub login").fill(identifier)
    page.get_by_label("Hasło").fill(password)
    page.get_by_role("button", name="Zaloguj się").click()
    expect(page).to_have_url(re.compile(r"/cards/$"))
