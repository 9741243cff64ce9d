"""OWASP ASVS 5.0.0 chapters V1-V5 (encoding, validation, the browser, the APIs, files): the controls no other
test shows. docs/security/asvs.md names each requirement and the test that shows it."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.http import content_disposition_header

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.api.tests.conftest import ApiClient
from kartosfera.backoffice.selectors import customer_search
from kartosfera.banks.logos import SVG, bank_logo_set, logo_check
from kartosfera.banks.scope import BankScope
from kartosfera.banks.tests.logos import HARMLESS_SVG, SVG_NS
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.tests.test_settings import ROOT
from kartosfera.processing.tests.helpers import card_of, decide
from kartosfera.statements.documents import document_filename
from kartosfera.statements.models import Statement
from kartosfera.testing import factories
from kartosfera.testing.production import production_settings
from kartosfera.testing.staff import staff_client

HOST = "cards.example"  # PRODUCTION's ALLOWED_HOSTS
HTTPS = {"secure": True, "HTTP_HOST": HOST, "HTTP_X_FORWARDED_PROTO": "https"}
PLAIN_HTTP = {"HTTP_HOST": HOST}
SYSTEM = Actor.system("tests")

# Breaks out of an element, of a quoted attribute (either quote) and of a script, if it were ever written raw.
HOSTILE = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"


def _code_files(*roots: str) -> list[Path]:
    """Our Python modules that production runs: no tests, test helpers or migrations."""
    found = []
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            parts = set(path.relative_to(ROOT).parts)
            if parts & {"tests", "testing", "migrations"}:
                continue
            found.append(path)
    return found


# --- V1 Encoding and sanitization ---------------------------------------------------------------------


@pytest.mark.django_db
def test_text_from_outside_is_escaped_on_the_holders_and_the_staffs_pages(client, cardholder, debit_product, staff):
    """A merchant's name comes from the card processor: every page writes it as text, never as markup (1.2.1)."""
    card = card_of(cardholder.customer, debit_product, balance_minor=150_000)
    decide(card, amount_minor=1_000, merchant_name=HOSTILE, merchant_city=HOSTILE[:50])
    client.force_login(cardholder.user)
    pages = {
        "portal": client.get(reverse("portal:card_history", args=[card.card.pk])),
        "backoffice": staff_client(staff["agent"]).get(
            reverse("backoffice:card_history", args=[card.card.customer_id, card.card.pk])
        ),
    }
    for where, response in pages.items():
        assert response.status_code == 200, where
        html = response.content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&gt;&lt;img src=x onerror=alert(2)&gt;" in html, where
        assert "<script>alert" not in html and "<img src=x" not in html, where


@pytest.mark.django_db
def test_json_answers_encode_text_so_it_cannot_change_their_structure():
    """Text with quotes, braces, a closing script tag and JavaScript's line separators stays one string (1.2.3)."""
    api_key, token = api_key_create(
        actor=SYSTEM, name="core banking", scopes=[ApiScope.PROVISIONING], bank=factories.bank_factory()
    )
    name = 'Anna"}, "admin": true, "x": {"</script>\u2028\u2029\\'
    customer = factories.customer_factory(first_name=name)

    response = ApiClient(token=token, api_key=api_key).get(f"/customers/{customer.reference}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["first_name"] == name
    assert "admin" not in body


@pytest.mark.django_db
def test_sql_metacharacters_and_wildcards_are_data_not_sql(cardholder):
    """The ORM and the hand-written SQL bind every value as a parameter; LIKE wildcards match themselves (1.2.4)."""
    everyone = BankScope.group()
    assert [c.pk for c in customer_search(query="Nowak", scope=everyone)] == [cardholder.customer.pk]
    for query in ("' OR '1'='1", "Nowak' --", "Nowak'; DELETE FROM customers_customer; --", "%%", "__", "N%", "N_wak"):
        assert customer_search(query=query, scope=everyone) == [], query
    # The API key look-up is hand-written SQL (core/statements.py select_by): a quote in the key is no escape.
    response = Client().get(
        "/api/provisioning/v1/customers/X", headers={"Authorization": "Bearer kfk_' OR '1'='1.x' OR '1'='1"}
    )
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_path_is_decoded_once_so_a_double_encoded_value_is_not_another_one():
    """``CIF%2541`` is the reference ``CIF%41``, not ``CIFA`` decoded a second time (1.1.1)."""
    bank = factories.bank_factory()
    api_key, token = api_key_create(actor=SYSTEM, name="core banking", scopes=[ApiScope.PROVISIONING], bank=bank)
    factories.customer_factory(reference="CIFA", bank=bank)
    api = ApiClient(token=token, api_key=api_key)

    assert api.get("/customers/CIF%41").status_code == 200  # decoded once: CIFA
    assert api.get("/customers/CIF%2541").status_code == 404  # CIF%41: no such customer


FORBIDDEN_MODULES = {"pickle", "marshal", "shelve", "yaml", "dill", "jsonpickle", "cPickle", "ldap", "lxml"}
FORBIDDEN_CALLS = {"eval", "exec", "__import__", "from_string", "Template"}
FORBIDDEN_OS_CALLS = {"system", "popen", "spawnl", "spawnv", "execv", "execl"}


def _dangerous_uses(source: str, name: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.Import):
            forbidden = FORBIDDEN_MODULES | {"subprocess"}
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in forbidden]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
            found.append(f"from {node.module} import")
        elif isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            on = node.func.value if isinstance(node.func, ast.Attribute) else None
            if called in FORBIDDEN_CALLS or (called in FORBIDDEN_OS_CALLS and getattr(on, "id", "") == "os"):
                found.append(f"{called}()")
            if any(k.arg == "shell" for k in node.keywords):
                found.append("shell=")
            if getattr(on, "id", "") == "re" and called in REGEX_CALLS and node.args and not _fixed(node.args[0]):
                found.append(f"re.{called}() of a pattern made at run time")
    return [f"{name}: {use}" for use in found]


REGEX_CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}


def _fixed(pattern: ast.expr) -> bool:
    """A pattern written in the code: a literal, a CONSTANT or a setting (never text from a request)."""
    if isinstance(pattern, ast.Constant):
        return True
    if isinstance(pattern, ast.Name):
        return pattern.id.isupper()
    return isinstance(pattern, ast.Attribute) and getattr(pattern.value, "id", "") == "settings"


def test_the_code_runs_no_shell_no_dynamic_code_and_unpickles_nothing():
    """No OS command, eval/exec, template or regular expression built from data, or unsafe deserializer in production
    code (1.2.5, 1.2.9, 1.3.2, 1.3.7, 1.5.2)."""
    files = _code_files("kartosfera", "config")
    assert len(files) > 200
    uses = [use for p in files for use in _dangerous_uses(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))]
    assert uses == []
    # Sessions are JSON (Django's default), never pickled; the messages cookie is signed JSON too.
    assert settings.SESSION_SERIALIZER == "django.contrib.sessions.serializers.JSONSerializer"


def test_the_scan_finds_each_kind_of_use():
    planted = (
        "import pickle\nimport subprocess\nfrom yaml import load\neval(x)\nos.system(x)\nActor.system(x)\n"
        "engines['django'].from_string(x)\nsubprocess.run(x, shell=True)\n"
        "re.compile(PATTERN)\nre.search(f'^{x}$', y)\nre.match(x, y)\n"
    )
    assert _dangerous_uses(planted, "p.py") == [
        "p.py: import pickle",
        "p.py: import subprocess",
        "p.py: from yaml import",
        "p.py: eval()",
        "p.py: system()",
        "p.py: from_string()",
        "p.py: shell=",
        "p.py: re.search() of a pattern made at run time",
        "p.py: re.match() of a pattern made at run time",
    ]


def test_a_download_name_is_built_from_safe_characters_only():
    """The statement's number cannot put a quote, a line break or a path into Content-Disposition (5.4.1, 5.4.2)."""
    statement = Statement(number='ACC"1\r\nSet-Cookie: a=b/../..\\x/2026/09')

    filename = document_filename(statement, "pdf", language="pl")
    header = content_disposition_header(as_attachment=True, filename=filename)

    assert re.fullmatch(r"[A-Za-z0-9-]+\.pdf", filename), filename
    assert header == f'attachment; filename="{filename}"'
    assert "\r" not in header and "\n" not in header and "/" not in filename


# --- V3 The browser -----------------------------------------------------------------------------------

HTML_SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\s*\(")


def test_our_scripts_write_text_never_html():
    """The portal's own scripts put text on the page with textContent only (3.2.2); htmx swaps escaped HTML."""
    scripts = [
        path
        for root in ("static", "kartosfera")
        for path in sorted((ROOT / root).rglob("*.js"))
        if not path.name.endswith(".min.js") and "node_modules" not in path.parts
    ]
    assert len(scripts) >= 4
    assert [str(p.relative_to(ROOT)) for p in scripts if HTML_SINKS.search(p.read_text(encoding="utf-8"))] == []
    assert any("textContent" in p.read_text(encoding="utf-8") for p in scripts)
    # No script takes messages from other windows (3.5.5): there is no postMessage channel to trust or check.
    assert [str(p.relative_to(ROOT)) for p in scripts if MESSAGE_LISTENER.search(p.read_text(encoding="utf-8"))] == []


MESSAGE_LISTENER = re.compile(r"""addEventListener\(\s*["']message["']|\bonmessage\b|postMessage""")


@pytest.mark.django_db
def test_every_page_names_object_src_and_base_uri_none_and_allows_only_our_own_sources(client, cardholder, card):
    """The global policy: nothing but this origin's files, no plugin, no <base>, no framing (3.4.3, 3.4.6, 3.7.1)."""
    client.force_login(cardholder.user)
    for url in ("/login/", "/cards/", reverse("portal:card_detail", args=[card.pk]), "/help/", "/no-such-page/"):
        csp = client.get(url)["Content-Security-Policy"]
        directives = dict(d.strip().partition(" ")[::2] for d in csp.split(";") if d.strip())
        assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'", url
        assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'", url
        assert {directives[d] for d in ("script-src", "style-src", "img-src", "font-src", "connect-src")} == {"'self'"}


PRODUCTION_SETTINGS = re.compile(
    r"^(SECURE_|SESSION_COOKIE_|CSRF_COOKIE_|STAFF_SESSION_COOKIE_|LANGUAGE_COOKIE_|MESSAGES_COOKIE_NAME$"
    r"|MESSAGE_STORAGE$|CSRF_TRUSTED_ORIGINS$|ALLOWED_HOSTS$|X_FRAME_OPTIONS$|CONTENT_SECURITY_POLICY$"
    r"|PERMISSIONS_POLICY$|MIDDLEWARE$|SERVER_API_MIDDLEWARE$)"
)


def _production_settings() -> dict[str, Any]:
    return production_settings(PRODUCTION_SETTINGS.pattern)


@pytest.fixture
def production(settings) -> dict[str, Any]:
    """The production configuration's security settings, applied (the full and the APIs' middleware reload)."""
    values = _production_settings()
    for name, value in values.items():
        setattr(settings, name, value)
    return values


def _assert_host_cookie(response: Any, name: str) -> None:
    morsel = response.cookies[name]
    assert name.startswith("__Host-")
    assert morsel["secure"] is True, f"{name} without Secure"
    assert morsel["httponly"] is True, f"{name} readable by scripts"
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/" and not morsel["domain"], f"{name} must stay on its host"


@pytest.mark.django_db
def test_production_gives_the_language_and_message_cookies_the_host_prefix(production, cardholder):
    """Every cookie of the portal is __Host-, Secure, HttpOnly and SameSite=Lax, these two too (3.3.1-3.3.4)."""
    client = Client()
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"}, **HTTPS)
    assert switched.status_code == 302
    _assert_host_cookie(switched, "__Host-kartosfera_language")
    assert client.get("/login/", **HTTPS).content.decode().count('lang="en"') >= 1  # read back under its name

    client.force_login(cardholder.user)
    signed_out = client.post(reverse("users:logout"), **HTTPS)
    assert signed_out.status_code == 302
    _assert_host_cookie(signed_out, "__Host-kartosfera_messages")
    assert "messages" not in signed_out.cookies
    # The next page reads the message back from the cookie under its new name (in the language chosen above).
    page = client.get(signed_out["Location"], **HTTPS)
    assert "You have been signed out." in page.content.decode()


@pytest.mark.django_db
def test_no_answer_lets_another_origin_read_it(client, cardholder, card):
    """No CORS: no answer, preflight included, names an origin that may read it (3.4.2)."""
    _, token = api_key_create(
        actor=SYSTEM, name="core banking", scopes=[ApiScope.PROVISIONING], bank=factories.bank_factory()
    )
    evil = {"Origin": "https://evil.example"}
    client.force_login(cardholder.user)
    answers = [
        client.get("/cards/", headers=evil),
        client.get("/static/css/kartosfera.css", headers=evil),
        Client().get("/api/provisioning/v1/customers/CIF1", headers={**evil, "Authorization": f"Bearer {token}"}),
        Client().options(
            "/api/provisioning/v1/customers",
            headers={
                **evil,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Authorization",
            },
        ),
    ]
    for response in answers:
        response.close()  # a static file's answer holds the file open
        assert not [h for h in response.headers if h.lower().startswith("access-control-")], response.headers


# The only views that take a POST without our CSRF token, each with its reason (views.py): the ACS challenge in the
# merchant's frame (a per-challenge token binds its forms) and the development shop's notificationURL.
# The staff enrolment link carries no form: it is opened from a message, and any method gets a redirect (a
# refusal would log its path, the token; backoffice/account_views.py enrol_start).
CSRF_EXEMPT_ALLOWED = {"acs:challenge", "acs:challenge_step", "acs_dev:shop_notification", "backoffice:enrol_start"}


def _views(resolver: URLResolver, prefix: str = "", namespace: str = "") -> list[tuple[str, str, Any]]:
    found = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}".strip(":") if pattern.namespace else namespace
            found += _views(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}".strip(":") if pattern.name else ""
            found.append((prefix + str(pattern.pattern), name, pattern.callback))
    return found


def test_every_browser_form_needs_the_csrf_token_but_the_token_bound_challenge():
    """The portal's and the back office's POSTs all go through CsrfViewMiddleware (3.5.1); the APIs take a Bearer
    key in a header, which no cross-site form can send, and no cookie (3.5.2)."""
    views = _views(get_resolver())
    assert len(views) > 100
    exempt = {
        name or route
        for route, name, view in views
        if getattr(view, "csrf_exempt", False) and not route.startswith("api/")
    }
    assert exempt == CSRF_EXEMPT_ALLOWED
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE


# --- V4 The APIs --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_plain_http_to_an_api_is_refused_not_redirected_while_pages_are_redirected(production):
    """A server's request over http is a 403 it notices, not a redirect that hides its key crossed in clear
    (4.1.2); people's pages, and the APIs' reference pages, are sent on to https."""
    refused = Client().get("/api/provisioning/v1/customers/CIF1", **PLAIN_HTTP)
    assert refused.status_code == 403
    assert "Location" not in refused
    body = refused.json()
    assert body["code"] == "https_required" and "HTTPS" in body["detail"] and body["errors"] == []
    assert refused["X-Content-Type-Options"] == "nosniff" and "default-src 'none'" in refused["Content-Security-Policy"]
    posted = Client().post("/api/processor/v1/authorizations", "{}", content_type="application/json", **PLAIN_HTTP)
    assert posted.status_code == 403 and posted.json()["code"] == "https_required"

    assert Client().get("/api/provisioning/v1/customers/CIF1", **HTTPS).status_code == 401  # on to authentication
    page = Client().get("/login/", **PLAIN_HTTP)
    assert page.status_code == 301 and page["Location"] == f"https://{HOST}/login/"
    docs = Client().get("/api/provisioning/v1/docs", **PLAIN_HTTP)
    assert docs.status_code == 301 and docs["Location"] == f"https://{HOST}/api/provisioning/v1/docs"


@pytest.mark.django_db
def test_every_text_answer_names_its_charset(client, cardholder, card):
    """HTML, CSS, JavaScript, CSV, SVG (static and a bank's logo): each Content-Type carries charset=utf-8 (4.1.1)."""
    bank = bank_logo_set(actor=SYSTEM, bank=factories.bank_factory(), data=HARMLESS_SVG, content_type=SVG)
    client.force_login(cardholder.user)
    answers = {
        "page": client.get("/cards/"),
        "not found": client.get("/no-such-page/"),
        "stylesheet of the banks' colours": client.get(reverse("banks:colours")),
        "static css": client.get("/static/css/kartosfera.css"),
        "static js": client.get("/static/js/session-timeout.js"),
        "static svg": client.get("/static/img/favicon.svg"),
        "logo svg": client.get(bank.logo_url),
    }
    for what, response in answers.items():
        response.close()  # a static file's answer holds the file open
        assert response.status_code in (200, 404), what
        media_type, _, parameters = response["Content-Type"].partition(";")
        assert media_type.startswith("text/") or media_type.endswith("+xml"), (what, media_type)
        assert parameters.replace('"', "").strip().lower() == "charset=utf-8", (what, response["Content-Type"])
    api = Client().get("/api/provisioning/v1/customers/CIF1")
    assert api["Content-Type"].startswith("application/json")  # JSON is UTF-8 by definition (RFC 8259)


@pytest.mark.django_db
def test_an_svg_logo_must_be_utf8_as_it_is_served():
    """The logo is served as UTF-8: one in another encoding, or declaring one, is refused with the reason."""
    latin2 = f'<?xml version="1.0" encoding="ISO-8859-2"?><svg {SVG_NS}><title>Łomża</title></svg>'
    utf8 = f'<?xml version="1.0" encoding="UTF-8"?><svg {SVG_NS}><title>Łomża</title></svg>'.encode()
    for data in (latin2.encode("iso-8859-2"), latin2.encode("utf-8"), utf8.decode().encode("utf-16")):
        with pytest.raises(ValidationFailed) as refused:
            logo_check(data=data, content_type=SVG)
        assert "UTF-8" in refused.value.field_errors["logo"], data[:40]
    assert logo_check(data=utf8, content_type=SVG).data == utf8


def test_a_next_address_is_url_encoded_into_the_sign_in_redirect(client, db):
    """The page asked for goes into ?next= encoded, so its own query cannot add parameters (1.2.2)."""
    asked = "/cards/?a=1&next=https://evil.example/&b=2"
    response = client.get(asked)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("users:login")
    assert parse_qs(location.query) == {"next": [asked]}
    assert "&next=" not in response["Location"] and "https://evil" not in response["Location"]


def test_proxy_headers_from_anybody_but_the_trusted_proxy_are_ignored(settings):
    """A client cannot name its own address (rate limits, audit) or host: X-Real-IP counts only from a proxy in
    TRUSTED_PROXY_IPS, and X-Forwarded-For and X-Forwarded-Host never (4.1.3)."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    from kartosfera.core.middleware import RequestContextMiddleware

    settings.TRUSTED_PROXY_IPS = frozenset({"10.0.0.5"})
    seen: dict[str, str] = {}

    def view(request):
        seen.update(remote=request.META["REMOTE_ADDR"], host=request.get_host())
        return HttpResponse()

    forged = {"HTTP_X_REAL_IP": "203.0.113.7", "HTTP_X_FORWARDED_FOR": "203.0.113.8", "HTTP_X_FORWARDED_HOST": "evil"}
    RequestContextMiddleware(view)(RequestFactory().get("/", REMOTE_ADDR="198.51.100.9", **forged))
    assert seen == {"remote": "198.51.100.9", "host": "testserver"}
    RequestContextMiddleware(view)(RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", **forged))
    assert seen == {"remote": "203.0.113.7", "host": "testserver"}
    RequestContextMiddleware(view)(RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_REAL_IP="not an address"))
    assert seen["remote"] == "10.0.0.5"
