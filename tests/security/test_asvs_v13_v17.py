"""OWASP ASVS 5.0.0, chapters V13 to V16: what the mapping (docs/security/asvs.md) marks met and no other test shows.

Configuration (V13): TRACE refused everywhere, no directory listing or source control metadata served, the public
development keys refused in production, outbound connections only through the documented clients. Data protection
(V14): every secret-bearing field classified in docs/security/inventory.md, expired sessions purged, signing out
clears what the browser kept, no script uses browser storage. Dependencies and coding (V15): constraints.txt pins
every installed distribution; form fields are read from the body only. Logging and errors (V16): log times in UTC,
refused requests logged with their id and address, unexpected errors answered generically and logged in full.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import io
import json
import logging
import re
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.utils import timezone

from config import urls as project_urls
from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.core.audit import Actor
from kartosfera.core.http_json import HttpJsonError, post_json
from kartosfera.core.logging import RequestContextFilter, UtcJsonFormatter
from kartosfera.core.models import AuditEvent
from kartosfera.core.tests.test_settings import PRODUCTION, _start
from kartosfera.jobs.models import JobRun
from kartosfera.jobs.registry import JOBS
from kartosfera.notifications.backends import locmem
from kartosfera.notifications.models import SmsStatus
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.texts import SmsText
from kartosfera.testing.factories import bank_factory, customer_factory
from kartosfera.testing.staff import staff_client, staff_person_create

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "docs" / "security" / "inventory.md"


def _inventory_section(title: str) -> str:
    text = INVENTORY.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


# --- V13.4.4 TRACE ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["TRACE", "TRACK"])
@pytest.mark.parametrize(
    "url",
    [
        "/api/provisioning/v1/openapi.json",  # Ninja's schema view answered TRACE like a GET
        "/api/processor/v1/authorizations",
        "/internal/metrics",
        "/login/",
        "/backoffice/login/",
        "/health/",
    ],
)
def test_trace_and_track_are_refused_on_every_kind_of_path(client, method, url):
    response = client.generic(method, url, HTTP_COOKIE="probe=echo-me", HTTP_X_PROBE="echo-me-too")
    if url == "/internal/metrics":
        assert response.status_code == 404  # without its token the endpoint is not there for anybody
    else:
        assert response.status_code == 405
        assert response["Allow"] and method not in response["Allow"]
    body = response.content.decode()
    assert "echo-me" not in body, "the request was echoed"
    if url.startswith("/api/"):
        assert response.json()["code"] == "method_not_allowed"
    assert client.get("/api/provisioning/v1/openapi.json").status_code == 200, "a GET still works"


# --- V13.4.1, V13.4.3 no source control metadata, no directory listing ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/static/", "/static/css/", "/static/js/", "/.git/HEAD", "/.git/config", "/.env", "/.env.example"]
)
def test_no_directory_is_listed_and_no_repository_file_is_served(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert b"Index of" not in response.content and b"[core]" not in response.content


# --- V13.2.3 no default credentials ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", settings.DEV_SECRET_KEY),
        ("CARD_DATA_KEYS", settings.DEV_CARD_DATA_KEY),
        ("CARD_DATA_KEYS", f"{PRODUCTION['CARD_DATA_KEYS']},{settings.DEV_CARD_DATA_KEY}"),
        ("CARD_FINGERPRINT_KEY", settings.DEV_CARD_FINGERPRINT_KEY),
        ("CARD_PIN_KEY", settings.DEV_CARD_PIN_KEY),
    ],
    ids=["secret-key", "card-data-key", "card-data-key-among-others", "fingerprint-key", "pin-key"],
)
def test_production_refuses_the_public_development_keys(name, value):
    result = _start({**PRODUCTION, name: value})
    assert result.returncode != 0
    assert f"{name} must be set in production to a key of its own" in result.stderr


# --- V13.1.1, V13.2.4 every connection documented, outbound only through the documented clients -----------------

OUTBOUND = re.compile(
    r"^\s*(import|from)\s+(urllib\.request|http\.client|requests|httpx|aiohttp|smtplib|ftplib|socket)\b", re.M
)


def _outbound_modules() -> set[str]:
    found = set()
    for source in (ROOT / "kartosfera").rglob("*.py"):
        relative = source.relative_to(ROOT)
        if "tests" in relative.parts or relative.parts[1] == "testing":
            continue
        text = source.read_text()
        for match in OUTBOUND.finditer(text):
            if match.group(2) == "socket" and not re.search(r"socket\.(socket|create_connection)\(", text):
                continue  # socket.gethostname() connects to nothing
            found.add(str(relative))
    return found


def test_outbound_connections_are_made_only_by_the_documented_clients():
    section = _inventory_section("External connections")
    modules = _outbound_modules()
    assert modules, "the scan finds the HTTP clients"
    documented = set(re.findall(r"`(kartosfera/[\w/]+\.py)`", section.split("\n|")[0]))
    assert modules == documented


def test_every_address_setting_is_a_documented_connection():
    section = _inventory_section("External connections")
    read = re.findall(r'env(?:_required)?\("(\w+_URL)"', (ROOT / "config" / "settings.py").read_text())
    assert {"DATABASE_URL", "REDIS_URL", "SMS_GATEWAY_URL", "ACS_DIRECTORY_SERVER_URL"} <= set(read)
    for name in read:
        assert f"`{name}`" in section, f"{name} is not in the inventory's connections"


# --- V14.1.1, V14.1.2 every secret-bearing field classified -----------------------------------------------------

SENSITIVE_FIELD = re.compile(
    r"cipher|digest|hash|secret|password|pesel|phone|pan_|pin_verification|birth|first_name|last_name|full_name"
    r"|embossed|session_key|response_body|payload|^key$|_last4$|^ip$"
)
# Fields the pattern catches that hold nothing sensitive.
NOT_SENSITIVE = {
    "banks.Bank.helpline_phone",  # the banks' published numbers and logos
    "banks.Bank.card_blocking_phone",
    "banks.Bank.logo_digest",
    "banks.BankLogo.digest",
    "banks.Branch.phone",
    "api.IdempotencyRecord.key",  # the client's own request id
}


def test_every_field_that_holds_sensitive_data_is_classified_and_every_classified_field_exists():
    section = _inventory_section("Sensitive data and its protection levels")
    classified = set(re.findall(r"`(\w+\.\w+\.\w+)`", section))
    for reference in classified:
        app_label, model_name, field_name = reference.split(".")
        model = apps.get_model(app_label, model_name)
        assert field_name in {f.name for f in model._meta.concrete_fields}, f"{reference} does not exist"
    for model in apps.get_models():
        if not (model.__module__.startswith("kartosfera.") or model._meta.app_label in {"otp_totp", "sessions"}):
            continue
        for each in model._meta.concrete_fields:
            reference = f"{model._meta.label}.{each.name}"
            if each.is_relation or each.name.endswith(("_at", "_count")) or reference in NOT_SENSITIVE:
                continue
            if SENSITIVE_FIELD.search(each.name):
                assert reference in classified, (
                    f"{model._meta.label}.{each.name} is not classified in docs/security/inventory.md"
                )


def test_every_retention_job_the_inventory_names_is_scheduled():
    section = _inventory_section("Sensitive data and its protection levels")
    named = set(re.findall(r"`((?:purge|wipe)_\w+)`", section))
    assert {"purge_expired_sessions", "purge_idempotency_records", "purge_job_runs"} <= named
    assert named <= set(JOBS)


# --- V14.2.4 expired sessions are deleted ----------------------------------------------------------------------


@pytest.mark.django_db
def test_expired_sessions_are_purged_and_live_ones_kept():
    expired, live = SessionStore(), SessionStore()
    for store in (expired, live):
        store["_auth_user_id"] = "1"
        store.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))

    out = io.StringIO()
    call_command("purge_expired_sessions", stdout=out)

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert out.getvalue() == "Deleted 1 expired session(s) and 0 old session record(s).\n"
    assert JobRun.objects.get(job="purge_expired_sessions").counts == {"deleted": 1, "records": 0}


# --- V14.3.1 signing out clears what the browser kept ----------------------------------------------------------


@pytest.mark.django_db
def test_signing_out_clears_the_browsers_cache_and_storage(client, cardholder):
    client.force_login(cardholder.user)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'


@pytest.mark.django_db
def test_a_staff_member_signing_out_clears_the_browsers_cache_and_storage():
    client = staff_client(staff_person_create("agent"))
    response = client.post("/backoffice/logout/")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'


@pytest.mark.django_db
def test_a_session_ended_by_the_idle_timeout_clears_the_browser_too(client, cardholder):
    client.force_login(cardholder.user)
    assert client.get("/settings/").status_code == 200
    session = client.session
    session["kf.session.last_activity"] = session["kf.session.started"] = 0.0
    session.save()
    response = client.get("/settings/")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'


# --- V14.3.3 nothing in browser storage -------------------------------------------------------------------------

BROWSER_STORAGE = re.compile(r"localStorage|sessionStorage|indexedDB|document\.cookie|caches\.open")


def _shipped_scripts() -> Iterator[Path]:
    yield from (ROOT / "static").rglob("*.js")
    for app in (ROOT / "kartosfera").iterdir():
        yield from (app / "static").rglob("*.js") if (app / "static").is_dir() else ()
    yield from (ROOT / "templates").rglob("*.html")


def test_no_script_we_ship_keeps_anything_in_browser_storage():
    scripts = list(_shipped_scripts())
    assert any(s.name == "session-timeout.js" for s in scripts)
    for script in scripts:
        assert not BROWSER_STORAGE.search(script.read_text()), f"{script.relative_to(ROOT)} uses browser storage"


# --- V15.1.2 the inventory of third-party components -------------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_installed_distribution_is_pinned_in_constraints_at_its_installed_version():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{line!r} is not pinned to one version"
            pins[_normal(name)] = version
    installed = {_normal(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    for name, version in installed.items():
        if name in {"kartosfera", "pip", "setuptools"}:  # the project itself and the installer
            continue
        assert pins.get(name) == version, f"{name} {version} is installed but constraints.txt pins {pins.get(name)}"


def test_the_inventory_states_a_remediation_time_frame_for_every_severity():
    section = _inventory_section("Dependencies")
    for severity in ("critical", "high", "medium", "low"):
        assert re.search(rf"^\| {severity}\b[^|]*\| [^|]*(days|monthly)", section, re.M), severity


# --- V15.3.7 parameters are read from their own source -----------------------------------------------------------


@pytest.mark.django_db
def test_a_form_reads_its_fields_from_the_body_never_from_the_query_string(client, cardholder):
    query = f"identifier={cardholder.identifier}&password={cardholder.password}"
    response = client.post(f"/login/?{query}", {"identifier": "", "password": ""})
    assert response.status_code == 200, "the sign-in did not go on with the query string's values"
    assert not locmem.outbox, "no code was sent"


# --- V16.2.2 log times in UTC ---------------------------------------------------------------------------------------


def _configured_formatter() -> logging.Formatter:
    config = dict(settings.LOGGING["formatters"]["json"])
    factory = config.pop("()")
    assert factory == "kartosfera.core.logging.UtcJsonFormatter"
    return UtcJsonFormatter(**config)


def test_log_times_are_iso_8601_in_utc_whatever_the_servers_zone():
    record = logging.LogRecord("kartosfera.test", logging.INFO, __file__, 1, "card blocked", None, None)
    record.created = dt.datetime(2026, 7, 1, 12, 0, 0, 250_000, tzinfo=dt.UTC).timestamp()  # 14:00 in Warsaw
    RequestContextFilter().filter(record)
    line = json.loads(_configured_formatter().format(record))
    assert line["time"] == "2026-07-01T12:00:00.250+00:00"


def test_a_log_line_cannot_be_split_by_what_it_quotes():
    message = 'card\n{"level": "INFO", "message": "forged"}'
    record = logging.LogRecord("kartosfera.test", logging.WARNING, __file__, 1, message, None, None)
    RequestContextFilter().filter(record)
    text = _configured_formatter().format(record)
    assert "\n" not in text
    assert json.loads(text)["message"] == message


# --- V16.2.3 logs go only where the inventory says ------------------------------------------------------------------


def test_the_application_logs_only_to_the_destinations_the_inventory_names():
    section = _inventory_section("Logs")
    handlers = settings.LOGGING["handlers"]
    assert set(handlers) == {"stdout"}
    assert handlers["stdout"]["class"] == "logging.StreamHandler"
    assert not {"stream", "filename", "host", "url"} & set(handlers["stdout"]), "standard error, the default stream"
    assert "the `stdout` handler only, a `StreamHandler` that writes to standard error" in section
    for name, logger in settings.LOGGING.get("loggers", {}).items():
        assert set(logger.get("handlers", [])) <= set(handlers), f"{name} logs elsewhere"
    for each in (settings.LOGGING["root"], *settings.LOGGING.get("loggers", {}).values()):
        assert set(each.get("handlers", [])) <= {"stdout"}


# --- V16.3.2, V16.2.1 a refused request is logged with who asked and from where ------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def request_log() -> Iterator[_Records]:
    handler = _Records()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.mark.django_db
def test_a_refused_api_request_is_logged_with_its_request_id_and_address(client, request_log):
    _key, token = api_key_create(actor=Actor.system("tests"), name="processor", scopes=[ApiScope.PROCESSOR])
    wrong_scope = client.get(
        "/api/provisioning/v1/customers/CIF-1",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_REQUEST_ID="probe-refused-1",
        REMOTE_ADDR="198.51.100.7",
    )
    assert wrong_scope.status_code == 403
    (record,) = [r for r in request_log.records if r.status_code == 403]  # type: ignore[attr-defined]
    assert record.levelno == logging.WARNING
    assert record.request_id == "probe-refused-1"  # type: ignore[attr-defined]
    assert record.client_ip == "198.51.100.7"  # type: ignore[attr-defined]
    assert token not in record.getMessage()


@pytest.mark.django_db
def test_another_cardholders_card_is_refused_and_the_refusal_logged(client, cardholder, second_cardholder, request_log):
    from kartosfera.testing.factories import card_factory

    others = card_factory(customer=second_cardholder.customer)
    client.force_login(cardholder.user)
    response = client.get(f"/cards/{others.pk}/", HTTP_X_REQUEST_ID="probe-refused-2")
    assert response.status_code == 404
    (record,) = [r for r in request_log.records if r.status_code == 404]  # type: ignore[attr-defined]
    assert record.request_id == "probe-refused-2"  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_an_attempt_stopped_by_a_rate_limit_is_logged(client, request_log):
    for attempt in range(11):
        response = client.post(
            "/login/",
            {"identifier": "99999999999", "password": "wrong-password-1"},
            HTTP_X_REQUEST_ID=f"probe-rl-{attempt:02d}",
        )
    assert response.status_code == 429
    (record,) = [r for r in request_log.records if r.status_code == 429]  # type: ignore[attr-defined]
    assert record.levelno == logging.WARNING
    assert record.request_id == "probe-rl-10"  # type: ignore[attr-defined]
    assert "wrong-password-1" not in record.getMessage()


# --- V16.5.1, V16.3.4 an unexpected error: a generic answer, the details in the log ---------------------------------

LEAK = "SELECT pesel FROM customers_customer WHERE secret='s3cr3t-value'"


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(LEAK)


urlpatterns = [path("asvs-boom/", _boom), *project_urls.urlpatterns]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_an_unexpected_error_is_a_generic_page_and_is_logged_with_its_traceback(caplog):
    caplog.set_level(logging.ERROR, logger="django.request")
    response = Client(raise_request_exception=False).get("/asvs-boom/", HTTP_X_REQUEST_ID="probe-boom-1")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Coś poszło nie tak" in body  # the 500 page, in Polish
    for leak in ("s3cr3t-value", "RuntimeError", "Traceback", "customers_customer", "_boom"):
        assert leak not in body, f"{leak} reached the page"
    (record,) = [r for r in caplog.records if r.name == "django.request" and r.levelno == logging.ERROR]
    assert record.exc_info and record.exc_info[0] is RuntimeError, "the traceback is logged"


@pytest.mark.django_db
def test_an_unexpected_error_in_an_api_is_a_generic_json_answer(caplog):
    _key, token = api_key_create(
        actor=Actor.system("tests"), name="core", scopes=[ApiScope.PROVISIONING], bank=bank_factory()
    )
    customer_factory(reference="CIF-BOOM")
    with mock.patch("kartosfera.api.provisioning.customer_get_by_reference", side_effect=RuntimeError(LEAK)):
        response = Client(raise_request_exception=False).get(
            "/api/provisioning/v1/customers/CIF-BOOM", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "s3cr3t-value" not in response.content.decode() and "Traceback" not in response.content.decode()
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records), "the traceback is logged"


# --- V15.3.2 no redirect followed; V16.3.4 a backend TLS failure is logged --------------------------------------


ANSWER_302 = b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\nContent-Length: 0\r\n\r\n"


class _Plain(socketserver.BaseRequestHandler):
    """Answers anything with a plain HTTP redirect: to a TLS client, a failed handshake."""

    def handle(self) -> None:
        self.request.recv(4096)
        self.request.sendall(ANSWER_302)


@pytest.fixture
def plain_server() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Plain)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_outbound_json_client_follows_no_redirect(plain_server):
    # The BLIK system's and the token service's client: a redirect would carry the Bearer token elsewhere.
    with pytest.raises(HttpJsonError) as raised:
        post_json(f"http://{plain_server}/state", {"on": True}, timeout=2, headers={"Authorization": "Bearer t"})
    assert raised.value.status == 302 and raised.value.retryable is False


@pytest.mark.django_db
def test_a_failed_tls_handshake_with_the_sms_gateway_is_logged_and_audited(
    plain_server, settings, caplog, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "kartosfera.notifications.backends.http.SmsBackend"
    settings.SMS_BACKEND_OPTIONS = {"url": f"https://{plain_server}/send", "retries": 0, "backoff": 0.01, "timeout": 2}
    settings.SMS_DELIVERY_MAX_ATTEMPTS = 1
    text = SmsText(template="sca.code", text="Kartosfera code 482915: logowanie.")
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        message = sms_send(to="+48600100200", message=text, purpose="sca.login")

    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED
    assert "SSL" in message.last_error or "ssl" in message.last_error
    (failure,) = [r for r in caplog.records if r.getMessage() == "sms delivery failed"]
    assert failure.levelno == logging.ERROR
    assert AuditEvent.objects.filter(action="notifications.sms.failed").count() == 1
    assert "482915" not in caplog.text


# --- V14.2.3 nothing is sent to a third party by the pages ---------------------------------------------------------

FOREIGN_ASSET = re.compile(
    r"<(script|link|img|iframe|source|video|audio|embed|object|form)\b[^>]*\b(src|href|data|action)=[\"']?(https?:)?//",
    re.I,
)


def test_no_template_loads_a_script_style_image_or_frame_from_another_site_or_posts_to_one():
    templates = [*(ROOT / "templates").rglob("*.html"), *(ROOT / "kartosfera").glob("*/templates/**/*.html")]
    assert len(templates) > 50
    for template in templates:
        match = FOREIGN_ASSET.search(template.read_text())
        assert match is None, f"{template.relative_to(ROOT)} loads from another site: {match.group(0)}"


# --- V15.3.6 no prototype pollution in our scripts --------------------------------------------------------------

# Pollution needs a write under a name taken from data (obj[key] = ...), a merge of objects or a prototype touched.
POLLUTING = re.compile(r"\w\s*\[[^\]]+\]\s*=[^=]|Object\.assign|__proto__|\.prototype\b|\.\.\.|\bfor\s*\([^)]*\bin\b")


def test_no_script_we_ship_writes_under_a_computed_name_or_merges_objects():
    scripts = [s for s in _shipped_scripts() if s.suffix == ".js"]
    assert {s.name for s in scripts} >= {"session-timeout.js", "countdown.js", "challenge-end.js"}
    for script in scripts:
        match = POLLUTING.search(script.read_text())
        assert match is None, f"{script.relative_to(ROOT)}: {match.group(0)!r}"
