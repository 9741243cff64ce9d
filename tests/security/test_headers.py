"""The security headers on every type of answer, under the production configuration over https.

kartosfera/core/tests/test_security_headers.py shows the full header set on a sign-in, a card list,
the back office's code page and one API error, and kartosfera/core/tests/test_http.py the headers of
/health/ in the test configuration. This file covers every other kind of answer: every URL of the URL
map (walked, so that a new view cannot stay unchecked) for a visitor, a cardholder and a staff member,
and the answers a walk of GETs never meets: an htmx partial, a form error, a 403, a 500 of each
middleware stack, each JSON API's answers and errors (401, 404, 422, 429), the OpenAPI schemas and
reference pages, statement downloads (PDF and CSV), static files, /health/, /internal/metrics, the
language switch's redirect and, in development, the SMS outbox.

What every answer must carry (``header_problems``): HSTS with preload; a strict CSP (no
'unsafe-…', no host but our own, framing denied); nosniff; Referrer-Policy; X-Frame-Options;
Cross-Origin-Opener-Policy; Permissions-Policy; a charset on every text type; no Server or
X-Powered-By; every cookie Secure, HttpOnly and SameSite. A signed-in person's answer, an API's
answer and an internal endpoint's answer are never stored (no-store).
"""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.core.audit import Actor
from kartosfera.core.tests.test_security_headers import _production_settings
from kartosfera.devices.tests.app_client import AppClient
from kartosfera.devices.tests.helpers import device_for
from kartosfera.statements.tests.documents_helpers import statement_of_a_busy_month
from kartosfera.testing.factories import bank_factory
from kartosfera.testing.staff import staff_client, staff_person_create
from kartosfera.users.session_timeout import LAST_ACTIVITY_KEY

pytestmark = pytest.mark.django_db

HOST = "cards.example"  # the production configuration's ALLOWED_HOSTS
HTTPS: dict[str, Any] = {"secure": True, "HTTP_HOST": HOST, "HTTP_X_FORWARDED_PROTO": "https"}
HSTS = "max-age=31536000; includeSubDomains; preload"
# JSON has no charset parameter: it is UTF-8 by definition (RFC 8259, 8.1); SVG is XML, which says its own.
TEXT_TYPES = ("text/", "application/javascript")
# A CSP source naming a host (or a scheme, or any host) would let that host's script, style or frame in.
FOREIGN_SOURCE = re.compile(r"(^|\s)(\*|https?:|data:|blob:|[a-z0-9.-]+\.[a-z]{2,}|'unsafe-[a-z-]+')", re.IGNORECASE)
# Values put in place of a route's parameters: nothing exists under them, so each view answers its "not found".
PLACEHOLDERS = {"int": "999999", "uuid": str(uuid.UUID(int=1)), "sha256": "0" * 64}


@functools.cache
def _production_values() -> dict[str, Any]:
    # A real interpreter builds the production settings once for the module (about a second).
    return _production_settings()


@pytest.fixture
def production(settings) -> None:
    for name, value in _production_values().items():
        setattr(settings, name, value)
    settings.ROOT_URLCONF = "tests.security.urls"


def header_problems(response: Any, *, private: bool, https: bool = True) -> list[str]:
    """What is wrong with ``response``'s security headers and cookies (empty: nothing)."""
    problems = []
    headers = response.headers
    if https and headers.get("Strict-Transport-Security") != HSTS:
        problems.append(f"HSTS {headers.get('Strict-Transport-Security')!r}")
    csp = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    if directives.get("default-src") != ["'none'"] or directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"CSP {csp!r}")
    elif FOREIGN_SOURCE.search(" ".join(" ".join(sources) for sources in directives.values())):
        problems.append(f"CSP not strict: {csp!r}")
    expected = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    problems += [f"{name} {headers.get(name)!r}" for name, value in expected.items() if headers.get(name) != value]
    if not headers.get("Permissions-Policy", "").startswith("accelerometer=()"):
        problems.append("no Permissions-Policy")
    problems += [f"{name} leaks {headers[name]!r}" for name in ("Server", "X-Powered-By") if name in headers]
    content_type = headers.get("Content-Type", "")
    if content_type.startswith(TEXT_TYPES) and "charset=" not in content_type:
        problems.append(f"Content-Type without charset: {content_type!r}")
    if private and "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"a private answer may be stored: Cache-Control {headers.get('Cache-Control')!r}")
    for name, morsel in response.cookies.items():
        # Over plain http (development) a Secure cookie would not come back: only there may it lack Secure.
        if https and not morsel["secure"]:
            problems.append(f"cookie {name} without Secure")
        # A deletion (empty, Max-Age=0) holds nothing to protect; Django sends it without HttpOnly.
        deleted = morsel.value == "" and str(morsel["max-age"]) == "0"
        if not deleted and not (morsel["httponly"] and morsel["samesite"] in ("Lax", "Strict")):
            problems.append(f"cookie {name} without HttpOnly or SameSite")
    return problems


def assert_headers(response: Any, *, private: bool, https: bool = True) -> None:
    problems = header_problems(response, private=private, https=https)
    assert not problems, f"{response.status_code} {response.get('Content-Type')}: {problems}"


def _routes(resolver: URLResolver, prefix: str = "/") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def _concrete(route: str) -> str:
    """``route`` with each parameter replaced by a value that names nothing (a regex tail by a word)."""
    route = re.sub(r"\^\(\?P<\w+>\.\*\)\$$", "nothing-here", route)
    # A link's token gets a value of its own: the log guard learns every token the code digests as a secret,
    # and the same placeholder in another URL's logged path would read as that secret leaking.
    return re.sub(
        r"<(?:(\w+):)?(\w+)>",
        lambda m: (
            "a-made-up-link-token" if m.group(2) == "token" else PLACEHOLDERS.get(m.group(1) or "str", "nothing-here")
        ),
        route,
    )


def project_urls() -> list[str]:
    """Every URL of the project's URL map (config.urls), its parameters filled in."""
    return sorted({_concrete(route) for route, _ in _routes(get_resolver("config.urls"))})


def _is_private(path: str) -> bool:
    return path.startswith(("/api/", "/internal/")) and not path.endswith("/docs")


def test_the_walk_meets_every_part_of_the_site():
    urls = project_urls()
    # The map's every include is met: a new part of the site is walked without a change here.
    prefixes = {url.split("/")[1] for url in urls}
    assert {"api", "internal", "health", "i18n", "backoffice", "cards", "settings", "dev", "banks", "acs"} <= prefixes
    assert len(urls) > 100


# One test per first path segment, so that a failure names the part of the site.
SEGMENTS = sorted({url.split("/")[1] for url in project_urls()})


@pytest.mark.parametrize("segment", SEGMENTS)
def test_every_url_answers_each_kind_of_visitor_with_the_headers(production, cardholder, segment):
    person = staff_person_create("supervisor", username="kierownik")
    cardholder_client = Client()
    cardholder_client.force_login(cardholder.user)
    visitors = {"visitor": Client(), "cardholder": cardholder_client}
    if segment == "backoffice":
        visitors["staff"] = staff_client(person)
    problems = {}
    for url in (url for url in project_urls() if url.split("/")[1] == segment):
        for who, client in visitors.items():
            response = client.get(url, **HTTPS)
            # Private: an API's or internal endpoint's answer, or anything answered to a signed-in person.
            user = getattr(response.wsgi_request, "user", None)
            private = _is_private(url) or bool(user and user.is_authenticated)
            # A public asset served by a view (the banks' colours, a logo) is the same for everybody.
            found = header_problems(response, private=private and not getattr(response, "shared_cacheable", False))
            if found:
                problems[f"{who} GET {url} -> {response.status_code}"] = found
    assert not problems, json.dumps(problems, indent=1)


def test_an_htmx_partial_and_a_redirect_of_the_portal(production, cardholder):
    client = Client()
    client.force_login(cardholder.user)
    partial = client.get("/settings/session/", HTTP_HX_REQUEST="true", **HTTPS)
    assert partial.status_code == 200
    assert_headers(partial, private=True)
    # A session past its idle time: htmx is told to go to the sign-in page (HX-Redirect), a script gets JSON.
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - 3600
    session.save()
    expired = client.get("/cards/", HTTP_HX_REQUEST="true", **HTTPS)
    assert expired.status_code == 200 and expired["HX-Redirect"].startswith("/login/")
    assert_headers(expired, private=True)
    client.force_login(cardholder.user)
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - 3600
    session.save()
    expired_json = client.get("/settings/session/", HTTP_ACCEPT="application/json", **HTTPS)
    assert expired_json.status_code == 401 and expired_json.json()["expired"] is True
    assert_headers(expired_json, private=True)

    redirect = Client().get("/cards/", **HTTPS)
    assert redirect.status_code == 302
    assert_headers(redirect, private=False)
    plain_http = Client().get("/cards/", HTTP_HOST=HOST)
    assert plain_http.status_code == 301 and plain_http["Location"].startswith("https://")
    assert_headers(plain_http, private=False, https=False)  # HSTS means nothing over plain http


def test_a_form_error_a_forbidden_answer_and_a_not_found_page(production, cardholder, staff):
    client = Client()
    client.force_login(cardholder.user)
    form_error = client.post("/3d-secure/merchants/add/", {"name": "", "merchant_id": "", "country": "??"}, **HTTPS)
    assert form_error.status_code == 400
    assert_headers(form_error, private=True)

    # A CSRF refusal is the portal's 403 page.
    strict = Client(enforce_csrf_checks=True)
    forbidden = strict.post("/login/", {"identifier": "x", "password": "y"}, **HTTPS)
    assert forbidden.status_code == 403
    assert_headers(forbidden, private=True)
    # An agent is refused a supervisor's page.
    refused = staff_client(staff["agent"]).get("/backoffice/jobs/", **HTTPS)
    assert refused.status_code == 403
    assert_headers(refused, private=True)

    missing = Client().get("/no-such-page/", **HTTPS)
    assert missing.status_code == 404 and missing["Content-Type"].startswith("text/html")
    assert_headers(missing, private=False)


def test_a_server_error_of_each_middleware_stack(production):
    client = Client(raise_request_exception=False)
    page = client.get("/security-tests/crash/", **HTTPS)
    assert page.status_code == 500
    assert_headers(page, private=False)
    internal = client.get("/internal/security-tests-crash", **HTTPS)
    assert internal.status_code == 500
    assert_headers(internal, private=True)


def _bearer(scope: str, **bank: Any) -> Client:
    _, token = api_key_create(actor=Actor.system("tests"), name=f"{scope} system", scopes=[scope], **bank)
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_each_api_answers_and_refuses_with_the_headers(production, cardholder):
    provisioning = _bearer(ApiScope.PROVISIONING, bank=bank_factory())
    answers = {
        # A key of the group's systems lists the banks.
        "provisioning 200": _bearer(ApiScope.PROVISIONING).get("/api/provisioning/v1/banks", **HTTPS),
        "provisioning 404": provisioning.get("/api/provisioning/v1/customers/NOPE", **HTTPS),
        "provisioning 422": provisioning.post(
            "/api/provisioning/v1/customers", "{}", content_type="application/json", **HTTPS
        ),
        "processor 401": Client().post("/api/processor/v1/authorizations", "{}", "application/json", **HTTPS),
        "processor 422": _bearer(ApiScope.PROCESSOR).post(
            "/api/processor/v1/authorizations", "{}", content_type="application/json", **HTTPS
        ),
        "acs 422": _bearer(ApiScope.ACS).post("/api/acs/v2/areq", "{}", content_type="application/json", **HTTPS),
        "token service 422": _bearer(ApiScope.TOKEN_SERVICE).post(
            "/api/token-service/v1/provisioning-requests", "{}", content_type="application/json", **HTTPS
        ),
        "an unknown API URL": Client().get("/api/nothing-here", **HTTPS),
    }
    app = AppClient()
    app.device_id = str(device_for(cardholder.customer, app=app).public_id)
    answers["app 200"] = app.client.get("/api/app/v1/cards", **app.signed_headers("GET", "/api/app/v1/cards"), **HTTPS)
    answers["app 401"] = Client().get("/api/app/v1/cards", **HTTPS)
    for _ in range(30):
        limited = Client().post(
            "/api/app/v1/activations",
            json.dumps({"identifier": "nobody", "code": "X", "public_key": "k", "device_name": "d", "pin": "270419"}),
            content_type="application/json",
            **HTTPS,
        )
        if limited.status_code == 429:
            break
    answers["app 429"] = limited
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {name: int(name[-3:]) if name[-3:].isdigit() else 404 for name in answers}
    for name, response in answers.items():
        assert response["Content-Type"].startswith("application/json"), name
        assert not header_problems(response, private=True), (name, header_problems(response, private=True))


def test_the_openapi_schemas_and_reference_pages(production):
    for api in ("provisioning/v1", "processor/v1", "acs/v2", "app/v1", "token-service/v1"):
        schema = Client().get(f"/api/{api}/openapi.json", **HTTPS)
        assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
        assert_headers(schema, private=True)
    for api in ("provisioning/v1", "processor/v1", "acs/v2", "token-service/v1"):
        docs = Client().get(f"/api/{api}/docs", **HTTPS)
        assert docs.status_code == 200 and docs["Content-Type"].startswith("text/html")
        assert_headers(docs, private=False)


def test_statement_downloads_are_never_stored(production, cardholder):
    cc, statement = statement_of_a_busy_month(customer=cardholder.customer)
    client = Client()
    client.force_login(cardholder.user)
    for kind, content_type in (("pdf", "application/pdf"), ("csv", "text/csv")):
        response = client.get(f"/cards/{cc.card.pk}/statements/{statement.pk}/{kind}/", **HTTPS)
        assert response.status_code == 200 and response["Content-Type"].startswith(content_type)
        assert response["Content-Disposition"].startswith("attachment;")
        assert_headers(response, private=True)


def test_static_files_as_whitenoise_serves_them(production):
    client = Client()
    for name in ("css/kartosfera.css", "js/countdown.js", "img/favicon.svg"):
        response = client.get(django_settings.STATIC_URL + name, **HTTPS)
        try:
            assert response.status_code == 200, name
            assert_headers(response, private=False)
        finally:
            response.close()


def test_health_metrics_and_the_language_switch(production, metrics_token):
    health = Client().get("/health/", **HTTPS)
    assert health.status_code == 200
    assert_headers(health, private=True)
    metrics = Client().get("/internal/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_token}", **HTTPS)
    assert metrics.status_code == 200
    assert_headers(metrics, private=True)
    refused = Client().get("/internal/metrics", **HTTPS)
    assert refused.status_code == 404
    assert_headers(refused, private=True)
    switched = Client().post("/i18n/setlang/", {"language": "en", "next": "/help/"}, **HTTPS)
    assert switched.status_code == 302 and switched["Location"] == "/help/"
    assert django_settings.LANGUAGE_COOKIE_NAME in switched.cookies
    assert_headers(switched, private=True)


def test_the_development_sms_outbox(settings):
    settings.DEBUG = True
    page = Client().get("/dev/sms-outbox/")
    assert page.status_code == 200
    assert_headers(page, private=True, https=False)  # development: plain http, no HSTS
    partial = Client().get("/dev/sms-outbox/", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert_headers(partial, private=True, https=False)


def test_the_checker_sees_each_missing_or_weak_header(production):
    good = Client().get("/help/", **HTTPS)
    assert header_problems(good, private=False) == []
    for name in (
        "Strict-Transport-Security",
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "X-Frame-Options",
        "Cross-Origin-Opener-Policy",
        "Permissions-Policy",
    ):
        response = Client().get("/help/", **HTTPS)
        del response.headers[name]
        assert header_problems(response, private=False), name
    for weak in ("default-src 'none'; script-src 'self' 'unsafe-inline'", "default-src 'none'; img-src https:"):
        response = Client().get("/help/", **HTTPS)
        response.headers["Content-Security-Policy"] = weak + "; frame-ancestors 'none'"
        assert header_problems(response, private=False), weak
    response = Client().get("/help/", **HTTPS)
    response.headers["Server"] = "gunicorn/23.0"
    response.headers["Content-Type"] = "text/html"
    response.set_cookie("leaky", "1")
    # The server, the charset, the cookie's Secure and its HttpOnly, and a private answer that may be stored.
    assert len(header_problems(response, private=True)) == 5
    response.delete_cookie("leaky")
    assert header_problems(response, private=False, https=False) == [
        "Server leaks 'gunicorn/23.0'",
        "Content-Type without charset: 'text/html'",
    ], "a deleted cookie over http holds nothing to protect"
