"""The production configuration's full set of security headers and cookies, over https.

The production settings are built by a real interpreter (as in test_settings.py) and the
security-relevant ones applied here; then real requests through the whole middleware stack
show what a browser receives: HSTS with preload, CSP, Permissions-Policy, COOP,
Referrer-Policy, __Host- / __Secure- cookies with Secure, no-store on private pages.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from kartosfera.notifications.backends import locmem
from kartosfera.testing.production import production_settings
from kartosfera.testing.staff import staff_person_create

pytestmark = pytest.mark.django_db

HOST = "cards.example"  # PRODUCTION's ALLOWED_HOSTS
# Behind the TLS proxy, as deployed: the proxy says https (SECURE_PROXY_SSL_HEADER).
HTTPS = {"secure": True, "HTTP_HOST": HOST, "HTTP_X_FORWARDED_PROTO": "https"}

SECURITY_SETTINGS = re.compile(
    r"^(SECURE_|SESSION_COOKIE_|CSRF_COOKIE_|STAFF_SESSION_COOKIE_|LANGUAGE_COOKIE_|CSRF_TRUSTED_ORIGINS$|ALLOWED_HOSTS$"
    r"|X_FRAME_OPTIONS$|CONTENT_SECURITY_POLICY$|PERMISSIONS_POLICY$|MIDDLEWARE$)"
)
# Features a card portal must never hand to a page or to anything it embeds.
POWERFUL_FEATURES = {
    "camera",
    "microphone",
    "geolocation",
    "payment",
    "usb",
    "serial",
    "hid",
    "bluetooth",
    "midi",
    "display-capture",
    "clipboard-read",
    "publickey-credentials-get",
    "otp-credentials",
    "browsing-topics",
    "interest-cohort",
    "fullscreen",
    "autoplay",
}


def _production_settings() -> dict[str, Any]:
    return production_settings(SECURITY_SETTINGS.pattern)


@pytest.fixture
def production(settings) -> dict[str, Any]:
    values = _production_settings()
    for name, value in values.items():
        setattr(settings, name, value)
    return values


def _assert_security_headers(response: Any) -> None:
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    directives = dict(item.split("=", 1) for item in response["Permissions-Policy"].split(", "))
    assert directives.keys() >= POWERFUL_FEATURES
    assert set(directives.values()) == {"()"}, "the portal uses no browser feature: every one is denied"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def _assert_cookie(response: Any, name: str, *, path: str) -> None:
    morsel = response.cookies[name]
    assert morsel["secure"] is True, f"{name} without Secure"
    assert morsel["httponly"] is True, f"{name} readable by scripts"
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == path
    assert not morsel["domain"], f"{name} must stay on its host"


def test_production_answers_over_https_with_the_full_header_set(
    production, cardholder, django_capture_on_commit_callbacks
):
    client = Client()

    # Plain http is sent to https first (the load balancer's health probe excepted).
    insecure = client.get("/login/", HTTP_HOST=HOST)
    assert insecure.status_code == 301 and insecure["Location"] == f"https://{HOST}/login/"

    # A public page: every header, and the CSRF cookie with the __Host- prefix.
    page = client.get("/login/", **HTTPS)
    assert page.status_code == 200
    _assert_security_headers(page)
    assert "__Host-kartosfera_csrf" in page.cookies
    _assert_cookie(page, "__Host-kartosfera_csrf", path="/")

    # Signing in sets the __Host- session cookie; the private pages are never stored.
    with django_capture_on_commit_callbacks(execute=True):  # the SMS with the code goes after commit
        signed = client.post("/login/", {"identifier": cardholder.identifier, "password": cardholder.password}, **HTTPS)
    assert signed.status_code == 302
    _assert_cookie(signed, "__Host-kartosfera_session", path="/")
    code = re.search(r"\b([0-9]{6})\b", locmem.outbox[-1].text)
    assert code
    done = client.post("/login/code/", {"code": code.group(1)}, **HTTPS)
    assert done.status_code == 302 and done["Location"].endswith("/cards/")
    cards = client.get("/cards/", **HTTPS)
    assert cards.status_code == 200
    _assert_security_headers(cards)
    assert "no-store" in cards["Cache-Control"] and "private" in cards["Cache-Control"]


def test_production_staff_cookie_is_host_prefixed_and_secure(production, db):
    person = staff_person_create("agent", username="agentka")
    client = Client()
    response = client.post("/backoffice/login/", {"username": person.username, "password": person.password}, **HTTPS)
    assert response.status_code == 302
    _assert_security_headers(response)
    # __Host- (ASVS 5.0 3.3.3): no sibling host can plant a staff session; __Host- needs path /.
    _assert_cookie(response, "__Host-kartosfera_staff_session", path="/")
    code_page = client.get("/backoffice/login/code/", **HTTPS)
    assert code_page.status_code == 200
    _assert_security_headers(code_page)
    assert "no-store" in code_page["Cache-Control"]


def test_the_api_carries_the_headers_too(production):
    response = Client().get("/api/provisioning/v1/customers/NOPE", **HTTPS)
    _assert_security_headers(response)
    assert "no-store" in response["Cache-Control"]
