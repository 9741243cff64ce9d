from __future__ import annotations

import json
import logging
from unittest import mock

import pytest
from django.db import DatabaseError

from kartosfera.core.logging import RequestContextFilter

pytestmark = pytest.mark.django_db


def test_every_answer_carries_a_request_id(client):
    response = client.get("/health/")
    assert len(response["X-Request-ID"]) == 32


def test_a_safe_caller_supplied_request_id_is_kept_and_an_unsafe_one_replaced(client):
    assert client.get("/health/", HTTP_X_REQUEST_ID="lb-0123456789")["X-Request-ID"] == "lb-0123456789"
    forged = client.get("/health/", HTTP_X_REQUEST_ID="x\nlevel=ERROR forged")["X-Request-ID"]
    assert "\n" not in forged and "forged" not in forged


def test_health_answers_503_when_the_database_does_not(client):
    with mock.patch("kartosfera.core.views.connection.cursor", side_effect=DatabaseError("down")):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_health_refuses_other_methods(client):
    assert client.post("/health/").status_code == 405


def test_health_is_never_cached(client):
    assert (
        "no-cache" in client.get("/health/")["Cache-Control"] or "max-age=0" in client.get("/health/")["Cache-Control"]
    )


def test_security_headers_are_sent(client):
    response = client.get("/health/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


def test_log_lines_are_json_with_the_request_id():
    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    from kartosfera.core.context import RequestContext, reset_request_context, set_request_context

    formatter_conf = dict(settings.LOGGING["formatters"]["json"])
    formatter_conf.pop("()")
    formatter = JsonFormatter(**formatter_conf)
    record = logging.LogRecord("kartosfera.test", logging.INFO, __file__, 1, "card blocked", None, None)
    token = set_request_context(RequestContext(request_id="abc12345"))
    try:
        RequestContextFilter().filter(record)
    finally:
        reset_request_context(token)
    line = json.loads(formatter.format(record))
    assert line["message"] == "card blocked"
    assert line["request_id"] == "abc12345"
    assert line["level"] == "INFO"


def test_pages_are_polish_even_for_an_english_browser_until_english_is_chosen(client, settings):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert response.headers["Content-Language"] == "pl"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="pl")
    assert response.headers["Content-Language"] == "en"


def test_an_unknown_language_cookie_falls_back_to_polish(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"
    assert client.get("/login/").headers["Content-Language"] == "pl"


def test_the_api_follows_accept_language(client):
    response = client.get("/api/provisioning/v1/customers/NOPE", HTTP_ACCEPT_LANGUAGE="en")
    assert response.headers["Content-Language"] == "en"


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_real_ip(client, settings):
    from kartosfera.core.context import current_request_context
    from kartosfera.core.middleware import RequestContextMiddleware

    seen = {}

    def view(request):
        from django.http import HttpResponse

        seen["remote"] = request.META["REMOTE_ADDR"]
        seen["ctx"] = current_request_context().ip
        return HttpResponse()

    from django.test import RequestFactory

    settings.TRUSTED_PROXY_IPS = frozenset({"10.0.0.5"})
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_REAL_IP="203.0.113.7")
    RequestContextMiddleware(view)(request)
    assert seen == {"remote": "203.0.113.7", "ctx": "203.0.113.7"}

    # From anybody else the header is ignored: it could be forged.
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.9", HTTP_X_REAL_IP="203.0.113.7")
    RequestContextMiddleware(view)(request)
    assert seen == {"remote": "198.51.100.9", "ctx": "198.51.100.9"}

    # A malformed header from the proxy changes nothing.
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_REAL_IP="not-an-ip")
    RequestContextMiddleware(view)(request)
    assert seen["remote"] == "10.0.0.5"
