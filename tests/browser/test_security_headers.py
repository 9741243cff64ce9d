"""What Chromium makes of our Permissions-Policy: it allows none of its features to our pages.

kartosfera/core/tests/test_security_headers.py checks the header as sent; this checks it as
understood. A misspelt feature would be ignored by the browser (with a console warning) and
stay allowed; a feature that a new Chromium adds shows up here until the policy denies it too.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.browser.conftest import PageChecks
from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser

# Denied for the browsers that have them (Chrome on other systems, Safari); Debian's
# Chromium build does not know them and says so in the console.
NOT_IN_THIS_CHROMIUM = {"bluetooth", "web-share"}


def _allowed_features(page: Page) -> list[str]:
    # Client hints (ch-*) are not features a page uses: they only shape request headers.
    features = page.evaluate("document.featurePolicy.allowedFeatures()")
    return sorted(feature for feature in features if not feature.startswith("ch-"))


def test_chromium_allows_no_feature_to_the_portal_or_the_back_office(page: Page, check_page: PageChecks, cardholder):
    unrecognized: set[str] = set()

    def on_console(message: ConsoleMessage) -> None:
        match = re.search(r"Permissions-Policy header: Unrecognized feature: '([^']+)'", message.text)
        if match:
            unrecognized.add(match.group(1))

    page.on("console", on_console)
    page.goto("/login/")
    check_page()
    assert _allowed_features(page) == []

    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    assert _allowed_features(page) == []

    page.goto("/backoffice/login/")
    check_page()
    assert _allowed_features(page) == []

    assert unrecognized <= NOT_IN_THIS_CHROMIUM, "a name in PERMISSIONS_POLICY that no browser knows (misspelt?)"
