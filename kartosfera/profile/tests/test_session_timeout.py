"""Session rules enforced by the server (kartosfera/users/session_timeout.py, docs/sessions.md)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kartosfera.core.models import AuditEvent
from kartosfera.core.tests.test_settings import PRODUCTION

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = reverse("profile:index")
STATUS = reverse("profile:session_status")
EXTEND = reverse("profile:session_extend")
JSON = {"HTTP_ACCEPT": "application/json"}
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def signed_in(clock, client, cardholder) -> Client:
    client.force_login(cardholder.user)
    return client


def _minutes(clock, minutes: float) -> None:
    clock.shift(dt.timedelta(minutes=minutes))


def test_five_minutes_without_activity_end_the_session_on_the_server(signed_in, clock):
    key = signed_in.session.session_key
    _minutes(clock, 5)

    response = signed_in.get(PAGE, follow=True)

    assert response.redirect_chain[0][0] == f"{reverse('users:login')}?next={PAGE}"
    assert "Wylogowano po 5 minutach bez aktywności." in response.content.decode()
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditEvent.objects.get(action="users.session.expired").after == {"reason": "idle"}


def test_activity_keeps_the_session_alive(signed_in, clock):
    for _ in range(4):
        _minutes(clock, 4.5)
        assert signed_in.get(PAGE).status_code == 200


def test_background_htmx_polling_does_not_keep_the_session_alive(signed_in, clock):
    _minutes(clock, 4)
    assert signed_in.get(PAGE, **HTMX).status_code == 200  # a poll: answered, not counted
    _minutes(clock, 1)
    assert signed_in.get(PAGE)["Location"].startswith(reverse("users:login"))


def test_boosted_htmx_navigation_counts_as_activity(signed_in, clock):
    _minutes(clock, 4)
    signed_in.get(PAGE, HTTP_HX_BOOSTED="true", **HTMX)
    _minutes(clock, 4)
    assert signed_in.get(PAGE).status_code == 200


def test_an_htmx_request_after_the_timeout_redirects_the_whole_page(signed_in, clock):
    _minutes(clock, 6)
    response = signed_in.get(PAGE, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("users:login")


def test_the_status_endpoint_tells_the_time_left_without_extending(signed_in, clock):
    _minutes(clock, 2)
    data = signed_in.get(STATUS, **JSON).json()
    assert data == {"expired": False, "remaining": 180.0, "warning": 60}

    _minutes(clock, 3)
    response = signed_in.get(STATUS, **JSON)
    assert response.status_code == 401
    assert response.json() == {"expired": True, "login_url": reverse("users:login")}
    assert "no-store" in response["Cache-Control"]


def test_the_extend_button_extends_the_session(signed_in, clock):
    _minutes(clock, 4.5)
    response = signed_in.post(EXTEND, **JSON)
    assert response.json() == {"expired": False, "remaining": 300.0}

    _minutes(clock, 4.5)
    assert signed_in.get(PAGE).status_code == 200


def test_the_extend_button_works_without_javascript(signed_in):
    response = signed_in.post(EXTEND, {"next": "/cards/"})
    assert response.status_code == 302 and response["Location"] == "/cards/"
    # Never a redirect off the site.
    assert signed_in.post(EXTEND, {"next": "https://evil.example/"})["Location"] == "/"


def test_extending_needs_the_csrf_token_and_a_session(clock, cardholder):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cardholder.user)
    assert strict.post(EXTEND, **JSON).status_code == 403
    assert Client().post(EXTEND, **JSON).status_code == 401
    assert Client().get(STATUS, **JSON).status_code == 401
    assert strict.get(EXTEND).status_code == 405


def test_the_session_ends_after_its_absolute_lifetime_whatever_the_activity(settings, signed_in, clock):
    settings.SESSION_ABSOLUTE_LIFETIME = 10 * 60
    for _ in range(2):
        _minutes(clock, 4.5)
        assert signed_in.get(PAGE).status_code == 200
    _minutes(clock, 1)

    response = signed_in.get(PAGE, follow=True)

    assert "Sesja osiągnęła maksymalny czas trwania." in response.content.decode()
    assert AuditEvent.objects.get(action="users.session.expired").after == {"reason": "absolute"}


def test_a_form_posted_after_the_timeout_is_not_run(signed_in, clock):
    _minutes(clock, 5)
    response = signed_in.post(reverse("profile:block"), {"confirm": "on"})
    assert response["Location"] == reverse("users:login")
    assert not AuditEvent.objects.filter(action="users.access.blocked").exists()


def test_the_limits_come_from_the_settings(settings, signed_in, clock):
    settings.SESSION_IDLE_TIMEOUT = 30
    settings.SESSION_WARNING_LEAD = 10
    body = signed_in.get(PAGE).content.decode()
    assert 'data-idle-seconds="30"' in body and 'data-warning-seconds="10"' in body
    clock.shift(dt.timedelta(seconds=31))
    assert signed_in.get(PAGE)["Location"].startswith(reverse("users:login"))


def test_the_warning_is_on_every_signed_in_page_and_accessible(signed_in):
    body = signed_in.get(reverse("portal:card_list")).content.decode()
    assert 'role="alertdialog"' in body and 'aria-labelledby="session-warning-title"' in body
    assert "Przedłuż sesję" in body
    assert 'src="/static/js/session-timeout.js"' in body
    assert "<script>" not in body and "style=" not in body


def test_anonymous_pages_have_no_warning(client):
    assert "session-timeout" not in client.get(reverse("users:login")).content.decode()


def test_production_session_cookies_are_secure_http_only_same_site_and_host_bound():
    root = Path(__file__).resolve().parents[3]
    # One set of production variables for every test that starts production (a new required key is added once).
    production = PRODUCTION
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, "
        "s.SESSION_IDLE_TIMEOUT, s.SESSION_WARNING_LEAD, s.SESSION_ABSOLUTE_LIFETIME)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in production and k != "DEBUG"}
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code],
        cwd=root,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **production},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["__Host-kartosfera_session", "True", "True", "Lax", "300", "60", "43200"]


def test_signing_in_gives_a_new_session_id(client, cardholder):
    client.get(reverse("users:login"))
    session = client.session
    session["anonymous"] = True
    session.save()
    before = session.session_key

    client.force_login(cardholder.user)  # django.contrib.auth.login(), as the login view does

    assert client.session.session_key != before
    assert django_settings.SESSION_COOKIE_HTTPONLY
