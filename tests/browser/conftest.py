"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Every page a test visits is checked with axe-core (WCAG 2.1 A and AA) and for
Content Security Policy violations; a test that navigates somewhere without
checking fails, so no page slips through unchecked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Page

from tests.browser.helpers import ANNAS_PHONE

CHROMIUM = Path("/usr/bin/chromium")
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}

# Records violations the page reports itself, in addition to Chromium's console
# messages (init scripts run outside the page's CSP, so this one is allowed).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Fail, never skip: a missing browser must not turn the journeys green.
    if not CHROMIUM.exists():
        pytest.fail(f"Debian Chromium is required at {CHROMIUM}; install it with `make browser`.", pytrace=False)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # A Polish customer's browser: the portal's language follows Accept-Language.
    return {**browser_context_args, "locale": "pl-PL", "timezone_id": "Europe/Warsaw"}


@pytest.fixture(scope="session")
def base_url(live_server: Any) -> str:
    # Overrides pytest-playwright's fallback fixture, which pytest 9 deprecates
    # (a session fixture on an instance) and filterwarnings=error would turn into
    # an error; pointing it at the live server also lets tests goto("/login/").
    return str(live_server.url)


@dataclass
class PageChecks:
    """Runs axe-core and the CSP check on the current page and remembers what it checked."""

    page: Page
    axe: Axe = field(default_factory=Axe)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    pending: str | None = None
    unchecked: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.add_init_script(CSP_LISTENER)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("load", self._on_load)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _on_load(self, page: Page) -> None:
        # "load" fires once per document (not for fragment links such as the skip link).
        if self.pending is not None:
            self.unchecked.append(self.pending)
        self.pending = page.url

    def csp_violations(self) -> list[str]:
        from_console = [text for text in self.console_errors if "Content Security Policy" in text]
        return from_console + [str(v) for v in self.page.evaluate("window.__cspViolations || []")]

    def __call__(self) -> None:
        """Check the page now on screen: zero axe violations, no CSP violation, no script error."""
        self.page.wait_for_load_state("load")
        results = self.axe.run(self.page, options=AXE_OPTIONS)
        violations = results.response["violations"]
        assert not violations, f"axe-core on {self.page.url}:\n{results.generate_report()}\n" + json.dumps(
            [{"id": v["id"], "nodes": [n["html"] for n in v["nodes"]]} for v in violations], indent=1
        )
        assert not self.csp_violations(), f"CSP violations on {self.page.url}: {self.csp_violations()}"
        assert not self.page_errors, f"script errors on {self.page.url}: {self.page_errors}"
        self.pending = None


@pytest.fixture
def check_page(page: Page) -> Iterator[PageChecks]:
    checks = PageChecks(page)
    yield checks
    unchecked = checks.unchecked + ([checks.pending] if checks.pending else [])
    assert not unchecked, f"pages visited without the axe/CSP check: {unchecked}"


@pytest.fixture
def annas_card(cardholder: Any, debit_product: Any) -> Any:
    """Anna's active debit card, for the card-operation journeys."""
    from kartosfera.cards.operations_services import card_activate
    from kartosfera.testing import factories

    return card_activate(
        actor=factories.SYSTEM, card=factories.card_factory(customer=cardholder.customer, product=debit_product)
    )


@pytest.fixture
def anna(cardholder: Any) -> Any:
    """Anna, the cardholder, with her own portal phone: the SMS codes of a browser test go there."""
    user = cardholder.user
    user.portal_phone = ANNAS_PHONE
    user.save(update_fields=["portal_phone"])
    return user
