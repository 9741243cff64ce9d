"""The HTTP gateway backend against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import socket

import pytest
from django.core.exceptions import ImproperlyConfigured

from kartosfera.notifications.backends import Sms, SmsDeliveryError
from kartosfera.notifications.backends import http as http_backend
from kartosfera.notifications.tests.gateway import Answer

TEXT = "Kartosfera code 482915: zmiana limitu internetowego karty *1234 na 2000 PLN."
SMS = Sms(to="+48600100200", text=TEXT, reference="42")
PASSWORD = "gw-secret-Pa55"


def _backend(gateway, **options):
    defaults = {
        "url": gateway.url,
        "username": "kartosfera",
        "password": PASSWORD,
        "sender": "MojBank",
        "timeout": 2.0,
        "retries": 2,
        "backoff": 0.01,
    }
    return http_backend.SmsBackend(**{**defaults, **options})


def test_a_message_is_posted_as_json_with_basic_auth_and_the_gateway_id_is_returned(gateway):
    gateway.script.append(Answer(status=202, body={"id": "gw-7781", "status": "accepted"}))

    assert _backend(gateway).send(SMS) == "gw-7781"

    [request] = gateway.received
    assert request.path == "/v1/sms"
    assert request.body == {"to": "+48600100200", "text": TEXT, "sender": "MojBank", "reference": "42"}
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    expected = base64.b64encode(f"kartosfera:{PASSWORD}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["Idempotency-Key"] == "kartosfera-sms-42"


def test_polish_letters_reach_the_gateway_intact(gateway):
    _backend(gateway).send(Sms(to="+48600100200", text="Zażółć gęślą jaźń", reference="1"))
    assert gateway.received[0].body["text"] == "Zażółć gęślą jaźń"


def test_no_authorization_header_is_sent_without_credentials(gateway):
    _backend(gateway, username="", password="").send(SMS)
    assert "Authorization" not in gateway.received[0].headers


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"message_id": 991}, "991"), ({"ok": True}, ""), (b"accepted", ""), ([1, 2], ""), ({"id": True}, "")],
)
def test_a_2xx_answer_without_a_usable_id_still_counts_as_sent(gateway, body, expected):
    gateway.script.append(Answer(status=200, body=body))
    assert _backend(gateway).send(SMS) == expected


def test_a_503_is_retried_and_the_next_200_wins(gateway):
    gateway.script.extend([Answer(status=503, body={"error": "busy"}), Answer(status=200, body={"id": "gw-2"})])

    assert _backend(gateway).send(SMS) == "gw-2"

    assert len(gateway.received) == 2
    # Every try carries the same reference and idempotency key: the gateway can drop a duplicate.
    assert {r.headers["Idempotency-Key"] for r in gateway.received} == {"kartosfera-sms-42"}


def test_a_gateway_that_keeps_failing_is_tried_retries_plus_one_times_then_reported_retryable(gateway):
    gateway.script.extend([Answer(status=500)] * 5)

    with pytest.raises(SmsDeliveryError) as raised:
        _backend(gateway, retries=2).send(SMS)

    assert raised.value.retryable is True
    assert raised.value.status_code == 500
    assert str(raised.value) == "gateway answered HTTP 500"
    assert len(gateway.received) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_4xx_is_final_and_not_retried(gateway, status):
    gateway.script.append(Answer(status=status, body={"error": "bad number", "echo": TEXT}))

    with pytest.raises(SmsDeliveryError) as raised:
        _backend(gateway).send(SMS)

    assert raised.value.retryable is False
    assert raised.value.status_code == status
    assert len(gateway.received) == 1
    # The gateway's answer may echo the text: it is not kept in the error.
    assert TEXT not in str(raised.value)


@pytest.mark.parametrize("status", [408, 429])
def test_408_and_429_mean_not_now_and_are_retried(gateway, status):
    gateway.script.append(Answer(status=status))
    assert _backend(gateway).send(SMS) == "gw-1"
    assert len(gateway.received) == 2


def test_a_redirect_is_not_followed(gateway):
    gateway.script.append(Answer(status=302, headers={"Location": "http://127.0.0.1:9/elsewhere"}))

    with pytest.raises(SmsDeliveryError) as raised:
        _backend(gateway).send(SMS)

    assert raised.value.retryable is False and raised.value.status_code == 302
    assert len(gateway.received) == 1


def test_a_gateway_that_does_not_answer_in_time_is_retried_then_reported_retryable(gateway):
    gateway.script.extend([Answer(delay=0.6), Answer(delay=0.6)])

    with pytest.raises(SmsDeliveryError) as raised:
        _backend(gateway, timeout=0.2, retries=1).send(SMS)

    assert raised.value.retryable is True
    assert raised.value.status_code is None
    assert "did not answer within 0.2 s" in str(raised.value)
    assert len(gateway.received) == 2


def test_a_refused_connection_is_retried_then_reported_retryable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens here once the socket is closed
    backend = http_backend.SmsBackend(url=f"http://127.0.0.1:{port}/", retries=1, backoff=0.01, timeout=1)

    with pytest.raises(SmsDeliveryError) as raised:
        backend.send(SMS)

    assert raised.value.retryable is True
    assert "cannot reach the gateway" in str(raised.value)


def test_the_backoff_doubles_between_tries(gateway, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(http_backend.time, "sleep", slept.append)
    gateway.script.extend([Answer(status=503)] * 4)

    with pytest.raises(SmsDeliveryError):
        _backend(gateway, retries=3, backoff=0.5).send(SMS)

    assert slept == [0.5, 1.0, 2.0]


def test_neither_the_text_nor_the_credentials_are_logged(gateway, caplog):
    gateway.script.extend([Answer(status=503), Answer(status=503), Answer(status=400)])

    with caplog.at_level(logging.DEBUG), pytest.raises(SmsDeliveryError):
        _backend(gateway).send(SMS)

    assert [r.levelname for r in caplog.records if r.name == http_backend.__name__] == ["WARNING", "WARNING"]
    warning = caplog.records[0]
    assert warning.sms_id == "42" and warning.status_code == 503 and warning.attempt == 1
    everything = " ".join(str(vars(record)) for record in caplog.records)
    assert "482915" not in everything
    assert PASSWORD not in everything
    assert base64.b64encode(f"kartosfera:{PASSWORD}".encode()).decode() not in everything


@pytest.mark.parametrize(
    "url",
    ["ftp://gateway.example/sms", "file:///etc/passwd", "gateway.example/sms", "https://user:pw@gateway.example/"],
)
def test_an_unusable_gateway_url_is_refused_at_once(url):
    with pytest.raises(ImproperlyConfigured):
        http_backend.SmsBackend(url=url)
