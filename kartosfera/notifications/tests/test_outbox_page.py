"""The demo's SMS outbox page: DEBUG only, newest first, refreshed by htmx polling."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.urls import reverse

from kartosfera.notifications.backends import Sms, file

pytestmark = pytest.mark.django_db
URL = "/dev/sms-outbox/"
FILE_BACKEND = "kartosfera.notifications.backends.file.SmsBackend"


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    settings.SMS_BACKEND = FILE_BACKEND


def _send(to: str, text: str, reference: str, when: str) -> None:
    with time_machine.travel(when, tick=False):
        file.SmsBackend().send(Sms(to=to, text=text, reference=reference))


@pytest.fixture
def english(client, settings):
    """These tests read the page's English source text; Polish is the portal's default."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_the_url_is_named():
    assert reverse("notifications:outbox") == URL


def test_without_debug_the_page_does_not_exist(client, outbox_file, settings):
    settings.SMS_BACKEND = FILE_BACKEND
    _send("+48600100200", "Kod 482915", "1", "2026-11-21 17:05:09+00:00")
    assert client.get(URL).status_code == 404
    assert client.get(URL, HTTP_HX_REQUEST="true").status_code == 404


def test_it_lists_full_numbers_and_texts_newest_first_in_warsaw_time(client, outbox_file, debug):
    _send("+48600100200", "Kartosfera: your activation password is K7PQ2M9XRA.", "1", "2026-11-21 17:05:09+00:00")
    _send("+48600100201", "Kartosfera code 482915: logowanie.", "2", "2026-07-01 08:00:30+00:00")

    response = client.get(URL)  # anonymous: the user reads the code while registering or signing in

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("482915") < html.index("K7PQ2M9XRA")  # the file order is send order; newest first
    assert "+48600100200" in html and "+48600100201" in html
    # Europe/Warsaw: UTC+1 in November, UTC+2 in July; Polish date format.
    assert re.search(r'<time datetime="2026-11-21T18:05:09\+01:00">21\.11\.2026 18:05:09</time>', html)
    assert re.search(r'<time datetime="2026-07-01T10:00:30\+02:00">01\.07\.2026 10:00:30</time>', html)


def test_it_uses_the_site_layout_and_an_accessible_table(english, client, outbox_file, debug):
    _send("+48600100200", "Kod 482915", "1", "2026-11-21 17:05:09+00:00")

    html = client.get(URL).content.decode()

    assert '<a class="skip-link" href="#main">' in html  # base.html
    assert "<h1>SMS outbox</h1>" in html
    assert re.search(r"<caption[^>]*>\s*Text messages sent, newest first", html)
    assert html.count('<th scope="col">') == 3
    assert '<th scope="row">' in html
    assert 'role="status"' in html


def test_it_refreshes_itself_with_htmx_polling_and_no_inline_script_or_style(client, outbox_file, debug):
    _send("+48600100200", "Kod 482915", "1", "2026-11-21 17:05:09+00:00")

    response = client.get(URL)
    html = response.content.decode()

    assert re.search(r'hx-get="/dev/sms-outbox/\?version=\d+"', html)
    assert 'hx-trigger="every 3s"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and " style=" not in html
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_a_poll_with_nothing_new_swaps_nothing(client, outbox_file, debug):
    _send("+48600100200", "Kod 482915", "1", "2026-11-21 17:05:09+00:00")
    version = str(outbox_file.stat().st_size)

    response = client.get(URL, {"version": version}, HTTP_HX_REQUEST="true")

    assert response.status_code == 204
    assert response.content == b""


def test_a_poll_after_a_new_message_returns_only_the_table_and_announces_it(english, client, outbox_file, debug):
    _send("+48600100200", "Kod 111111", "1", "2026-11-21 17:05:09+00:00")
    version = str(outbox_file.stat().st_size)
    _send("+48600100200", "Kod 222222", "2", "2026-11-21 17:06:00+00:00")

    response = client.get(URL, {"version": version}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "222222" in html and "111111" in html
    assert f'?version={outbox_file.stat().st_size}"' in html
    assert re.search(r'<p id="outbox-status" hx-swap-oob="innerHTML">\s*New text message, sent at 18:06:00\.', html)


def test_answers_vary_on_htmx_and_are_never_stored(client, outbox_file, debug):
    response = client.get(URL)
    assert "HX-Request" in response["Vary"]
    assert "no-store" in response["Cache-Control"]


def test_an_empty_outbox_says_what_to_do(english, client, outbox_file, debug):
    html = client.get(URL).content.decode()
    assert "No text messages yet." in html
    assert "<table" not in html


def test_a_damaged_line_does_not_hide_the_others(client, outbox_file, debug):
    _send("+48600100200", "Kod 482915", "1", "2026-11-21 17:05:09+00:00")
    with outbox_file.open("a", encoding="utf-8") as f:
        f.write('{"time": "2026-11-21T17:0\n')

    response = client.get(URL)

    assert response.status_code == 200
    assert "482915" in response.content.decode()


def test_with_another_backend_the_page_says_where_messages_appear(client, outbox_file, settings):
    settings.DEBUG = True
    settings.SMS_BACKEND = "kartosfera.notifications.backends.console.SmsBackend"
    html = client.get(URL).content.decode()
    assert "SMS_BACKEND=file" in html


def test_other_methods_are_refused(client, outbox_file, debug):
    assert client.post(URL).status_code == 405


def test_the_page_is_in_polish_by_default_and_english_on_request(client, outbox_file, debug, settings):
    assert client.get(URL)["Content-Language"] == "pl"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.get(URL)["Content-Language"] == "en"
