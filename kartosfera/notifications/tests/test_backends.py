"""The console, file and in-memory backends, and choosing one in settings."""

from __future__ import annotations

import io
import json
import stat

import time_machine
from django.test import override_settings

from kartosfera.notifications.backends import Sms, console, file, get_sms_backend, http, locmem

SMS = Sms(to="+48600100200", text="Kod 482915: logowanie", reference="7")


def test_the_backend_is_chosen_by_settings_with_its_options():
    with override_settings(
        SMS_BACKEND="kartosfera.notifications.backends.http.SmsBackend",
        SMS_BACKEND_OPTIONS={"url": "https://sms.example/send", "sender": "MojBank", "timeout": 3, "retries": 1},
    ):
        backend = get_sms_backend()
    assert isinstance(backend, http.SmsBackend)
    assert (backend.url, backend.sender, backend.timeout, backend.retries) == (
        "https://sms.example/send",
        "MojBank",
        3.0,
        1,
    )


def test_the_tests_use_the_in_memory_backend():
    assert isinstance(get_sms_backend(), locmem.SmsBackend)
    assert get_sms_backend().send(SMS) == "locmem-1"
    assert locmem.outbox == [SMS]


def test_the_console_backend_prints_the_message():
    stream = io.StringIO()
    console.SmsBackend(stream=stream).send(SMS)
    assert stream.getvalue() == "SMS to +48600100200: Kod 482915: logowanie\n"


@time_machine.travel("2026-11-21 17:05:09+00:00", tick=False)
def test_the_file_backend_appends_one_private_json_line_per_message(outbox_file):
    backend = file.SmsBackend()
    assert backend.send(SMS) == "7"
    backend.send(Sms(to="+48600100201", text="Zażółć", reference="8", sender="BS Lomza"))

    lines = [json.loads(line) for line in outbox_file.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {
            "time": "2026-11-21T17:05:09+00:00",
            "to": "+48600100200",
            "sender": "",
            "text": "Kod 482915: logowanie",
            "id": "7",
        },
        {"time": "2026-11-21T17:05:09+00:00", "to": "+48600100201", "sender": "BS Lomza", "text": "Zażółć", "id": "8"},
    ]
    assert stat.S_IMODE(outbox_file.stat().st_mode) == 0o600


def test_a_backend_that_cannot_be_built_fails_the_system_check(settings):
    from kartosfera.notifications.checks import sms_backend_check

    assert sms_backend_check() == []
    settings.SMS_BACKEND = "kartosfera.notifications.backends.http.SmsBackend"
    settings.SMS_BACKEND_OPTIONS = {"url": "ftp://sms.example/", "password": "gw-secret"}
    [error] = sms_backend_check()
    assert error.id == "notifications.E001"
    assert "gw-secret" not in error.msg
