"""config/wsgi.py: pages through the portal's middleware stack, the JSON APIs through the lean one."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from django.test import Client

from config.wsgi import application
from kartosfera.core.wsgi import Dispatcher, ServerApiWSGIHandler, is_server_api


@pytest.mark.parametrize(
    ("path", "lean"),
    [
        ("/api/processor/v1/authorizations", True),
        ("/api/processor/v1/authorizations/abc/reversals", True),
        ("/api/provisioning/v1/customers", True),
        ("/api/processor/v1/openapi.json", True),
        ("/api/unknown", True),
        ("/internal/metrics", True),  # Prometheus' scrape: no session or CSRF
        ("/api/processor/v1/docs", False),  # the reference page is HTML for people
        ("/api/provisioning/v1/docs", False),
        ("/", False),
        ("/login/", False),
        ("/backoffice/", False),
        ("/static/app.css", False),
    ],
)
def test_which_requests_take_the_lean_stack(path, lean):
    assert is_server_api(path) is lean


def test_the_lean_stack_has_no_browser_middleware_and_keeps_the_security_headers():
    lean = set(settings.SERVER_API_MIDDLEWARE)
    for browser_only in (
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "kartosfera.backoffice.session.RealmSessionMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ):
        assert browser_only not in lean
    # The APIs' SecurityMiddleware (the same headers) refuses plain http where the portal's redirects it.
    api_security = {
        "kartosfera.api.middleware.ApiSecurityMiddleware",
        "kartosfera.api.middleware.ApiHttpsOnlyMiddleware",
    }
    assert set(settings.MIDDLEWARE) >= lean - api_security, "the lean stack is a subset of the portal's"
    assert api_security | {"csp.middleware.CSPMiddleware"} <= lean


def _call(app, path, method="GET"):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "REMOTE_ADDR": "127.0.0.1",
    }
    status = []
    body = b"".join(app(environ, lambda s, headers, *a: status.append((s, dict(headers)))))
    return status[0][0], status[0][1], body


@pytest.mark.django_db
def test_the_production_application_dispatches_by_path():
    assert isinstance(application, Dispatcher)
    assert isinstance(application.server_api, ServerApiWSGIHandler)
    status, headers, body = _call(application, "/api/processor/v1/authorizations/x/reversals")
    # The API's answer (its error format, no session cookie), with the request id and no-store.
    assert status.startswith("401") or status.startswith("405")
    assert "Set-Cookie" not in headers
    assert headers["X-Request-ID"]
    assert "no-store" in headers["Cache-Control"]
    assert json.loads(body)["code"]
    status, headers, _ = _call(application, "/login/")
    assert status.startswith("200")
    assert "csrftoken" in headers.get("Set-Cookie", "") or "csrf" in headers.get("Set-Cookie", "")


@pytest.mark.django_db
def test_the_test_client_dispatches_like_production():
    """The suite's API tests run the lean stack: no session, user or CSRF machinery touches the request."""
    client = Client()
    api = client.get("/api/processor/v1/openapi.json")
    assert api.status_code == 200
    assert not hasattr(api.wsgi_request, "user") and not hasattr(api.wsgi_request, "session")
    assert api.wsgi_request.request_id  # the lean stack's request context
    page = client.get("/login/")
    assert hasattr(page.wsgi_request, "user") and hasattr(page.wsgi_request, "session")
