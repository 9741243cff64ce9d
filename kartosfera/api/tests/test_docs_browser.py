"""Swagger UI really runs in Chromium under the site's CSP: no violation, every operation listed."""

from __future__ import annotations

import os
import shutil

import pytest

from kartosfera.api.tests.conftest import BASE
from kartosfera.api.tests.test_docs import ENDPOINTS

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.browser

_RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_every_operation_without_a_csp_violation(live_server):
    from playwright.sync_api import sync_playwright

    # Fail, never skip (as tests/browser does): a missing browser must not turn this green.
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is required at {CHROMIUM}; install it with `make browser`.", pytrace=False)
    console_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.add_init_script(_RECORD_CSP_VIOLATIONS)
            page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
            page.goto(live_server.url + BASE + "/docs")
            page.wait_for_selector(".opblock", timeout=15_000)
            operations = page.locator(".opblock").count()
            # Open an operation, so that its selects draw the icons the overrides self-host.
            page.locator(".opblock-summary").first.click()
            page.wait_for_selector(".opblock-body select", timeout=5_000)
            if os.environ.get("DOCS_SCREENSHOT"):
                page.screenshot(path=os.environ["DOCS_SCREENSHOT"], full_page=False)
            violations = page.evaluate("window.__cspViolations")
        finally:
            browser.close()

    assert operations == sum(len(methods) for methods in ENDPOINTS.values())
    assert violations == []
    assert not [error for error in console_errors if "Content Security Policy" in error], console_errors
