"""Queuing and delivering text messages: after commit, only the id on the queue, texts wiped, retries."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings
from django.utils import timezone

from kartosfera.core.crypto import decrypt
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import BaseSmsBackend, Sms, SmsDeliveryError, locmem
from kartosfera.notifications.models import OutboundSms, SmsStatus
from kartosfera.notifications.services import sms_deliver, sms_retry_delay, sms_send
from kartosfera.notifications.tests.gateway import Answer
from kartosfera.notifications.texts import SmsText
from kartosfera.testing.tasks import database_worker_run

pytestmark = pytest.mark.django_db(transaction=True)

# A registered message, as sms_send takes no free text.
MESSAGE = SmsText(template="sca.code", text="Kartosfera code 482915: logowanie. Never give it to anybody.")
TEXT = MESSAGE.text
PHONE = "+48600100200"
DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
HTTP_BACKEND = "kartosfera.notifications.backends.http.SmsBackend"
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class ScriptedBackend(BaseSmsBackend):
    """Fails with the scripted errors first, then takes every message."""

    errors: list[Exception] = []
    sent: list[Sms] = []

    def send(self, message: Sms) -> str:
        if ScriptedBackend.errors:
            raise ScriptedBackend.errors.pop(0)
        ScriptedBackend.sent.append(message)
        return f"scripted-{len(ScriptedBackend.sent)}"


SCRIPTED = f"{__name__}.ScriptedBackend"


@pytest.fixture
def scripted():
    ScriptedBackend.errors = []
    ScriptedBackend.sent = []
    with override_settings(SMS_BACKEND=SCRIPTED, SMS_BACKEND_OPTIONS={}):
        yield ScriptedBackend


def _dummy_queue():
    from django_tasks import task_backends

    return task_backends["default"].results


def test_a_message_is_sent_after_the_transaction_commits_and_its_text_is_then_wiped():
    with transaction.atomic():
        message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")
        stored = OutboundSms.objects.get(pk=message.pk)
        assert locmem.outbox == []  # nothing leaves before the commit
        # Stored only encrypted, and readable with the key.
        assert TEXT not in stored.text_ciphertext and "482915" not in stored.text_ciphertext
        assert decrypt(stored.text_ciphertext) == TEXT
        assert stored.status == SmsStatus.QUEUED

    assert locmem.outbox == [Sms(to=PHONE, text=TEXT, reference=str(message.pk))]
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT
    assert message.text_ciphertext == ""
    assert message.sent_at is not None and message.attempts == 1
    assert message.gateway_message_id == "locmem-1"


def test_a_rolled_back_transaction_sends_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")
        raise RuntimeError("the operation failed")

    assert locmem.outbox == []
    assert not OutboundSms.objects.exists()


@override_settings(TASKS=DUMMY_TASKS)
def test_the_queue_carries_only_the_message_id():
    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    [queued] = _dummy_queue()
    assert queued.task.name == "sms_deliver_task"
    assert queued.args == [message.pk] and queued.kwargs == {}
    assert queued.task.run_after is None
    assert locmem.outbox == []


@override_settings(TASKS=DB_TASKS)
def test_the_database_queue_stores_only_the_id_and_its_worker_delivers():
    from django_tasks_db.models import DBTaskResult

    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    [row] = DBTaskResult.objects.all()
    assert row.args_kwargs == {"args": [message.pk], "kwargs": {}}
    assert locmem.outbox == []

    database_worker_run()

    assert [sms.text for sms in locmem.outbox] == [TEXT]
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.text_ciphertext == ""


def test_delivering_the_same_message_twice_sends_it_once():
    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    again = sms_deliver(message_id=message.pk)

    assert len(locmem.outbox) == 1
    assert again.status == SmsStatus.SENT and again.attempts == 1


def test_a_retryable_failure_stays_queued_and_is_delivered_by_a_later_try(scripted):
    scripted.errors = [SmsDeliveryError("gateway answered HTTP 503", status_code=503)] * 2

    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    # The immediate backend of the tests runs each retry at once.
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT
    assert message.attempts == 3
    assert message.last_error == "" and message.text_ciphertext == ""
    assert [sms.text for sms in scripted.sent] == [TEXT]
    assert not AuditEvent.objects.filter(action="notifications.sms.failed").exists()


@override_settings(TASKS=DUMMY_TASKS, SMS_DELIVERY_RETRY_DELAY=20)
def test_a_retry_is_put_on_the_queue_with_a_growing_delay(scripted):
    scripted.errors = [SmsDeliveryError("gateway answered HTTP 503", status_code=503)] * 2
    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    before = timezone.now()
    sms_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == SmsStatus.QUEUED and message.attempts == 1
    assert message.last_error == "gateway answered HTTP 503"
    assert decrypt(message.text_ciphertext) == TEXT  # kept, encrypted, for the next try

    first, retry = _dummy_queue()
    assert first.task.run_after is None  # the first delivery runs as soon as possible
    assert retry.args == [message.pk]
    assert before + dt.timedelta(seconds=20) <= retry.task.run_after <= timezone.now() + dt.timedelta(seconds=20)

    sms_deliver(message_id=message.pk)
    assert _dummy_queue()[-1].task.run_after >= before + dt.timedelta(seconds=40)


@override_settings(SMS_DELIVERY_RETRY_DELAY=20)
def test_the_retry_delay_doubles():
    assert [sms_retry_delay(attempts=n).total_seconds() for n in (1, 2, 3, 4)] == [20, 40, 80, 160]


@override_settings(SMS_DELIVERY_MAX_ATTEMPTS=3)
def test_after_the_last_try_the_message_fails_is_wiped_audited_and_logged(scripted, caplog):
    scripted.errors = [SmsDeliveryError("gateway answered HTTP 503", status_code=503)] * 10

    with caplog.at_level(logging.INFO):
        message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED
    assert message.attempts == 3
    assert message.last_error == "gateway answered HTTP 503"
    assert message.text_ciphertext == ""
    assert scripted.sent == []

    [event] = AuditEvent.objects.filter(action="notifications.sms.failed")
    assert event.object_type == "notifications.outboundsms" and event.object_id == str(message.pk)
    assert event.actor_type == "system"
    assert event.after == {"purpose": "sca.login", "attempts": 3, "status_code": 503, "error": message.last_error}

    failures = [r for r in caplog.records if r.getMessage() == "sms delivery failed"]
    assert [r.levelname for r in failures] == ["ERROR"] * 3
    assert [r.will_retry for r in failures] == [True, True, False]
    assert failures[-1].sms_id == message.pk and failures[-1].purpose == "sca.login"
    assert failures[-1].status_code == 503
    assert "482915" not in " ".join(str(vars(r)) for r in caplog.records)


def test_a_final_failure_is_not_retried(scripted):
    scripted.errors = [SmsDeliveryError("gateway answered HTTP 400", retryable=False, status_code=400)]

    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and message.attempts == 1
    assert message.text_ciphertext == ""
    assert AuditEvent.objects.get(action="notifications.sms.failed").after["status_code"] == 400


def test_a_failed_message_is_not_sent_by_a_late_delivery(scripted):
    scripted.errors = [SmsDeliveryError("gateway answered HTTP 400", retryable=False, status_code=400)]
    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    sms_deliver(message_id=message.pk)

    assert scripted.sent == []
    message.refresh_from_db()
    assert message.attempts == 1


@override_settings(TASKS=DUMMY_TASKS)
def test_an_unexpected_backend_error_is_a_retryable_failure_naming_only_its_class(scripted):
    scripted.errors = [OSError(f"cannot write {TEXT}")]
    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    sms_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.status == SmsStatus.QUEUED
    assert message.last_error == "backend error: OSError"
    assert len(_dummy_queue()) == 2


def test_through_the_http_gateway_a_message_is_sent_once_the_gateway_recovers(gateway, settings):
    settings.SMS_BACKEND = HTTP_BACKEND
    settings.SMS_BACKEND_OPTIONS = {"url": gateway.url, "password": "token", "retries": 1, "backoff": 0.01}
    settings.SMS_DELIVERY_MAX_ATTEMPTS = 2
    # Two failed tries inside the first delivery, then the retried delivery succeeds.
    gateway.script.extend([Answer(status=503), Answer(status=502), Answer(status=200, body={"id": "gw-9"})])

    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.attempts == 2
    assert message.gateway_message_id == "gw-9"
    assert len(gateway.received) == 3


def test_through_the_http_gateway_a_refused_message_fails_at_once(gateway, settings):
    settings.SMS_BACKEND = HTTP_BACKEND
    settings.SMS_BACKEND_OPTIONS = {"url": gateway.url, "retries": 3, "backoff": 0.01}
    gateway.script.append(Answer(status=400, body={"error": "invalid number"}))

    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and message.attempts == 1
    assert message.last_error == "gateway answered HTTP 400"
    assert len(gateway.received) == 1
    assert AuditEvent.objects.filter(action="notifications.sms.failed", object_id=str(message.pk)).exists()


class SlowBackend(BaseSmsBackend):
    sent: list[Sms] = []

    def send(self, message: Sms) -> str:
        time.sleep(0.3)
        SlowBackend.sent.append(message)
        return ""


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
@override_settings(TASKS=DUMMY_TASKS, SMS_BACKEND=f"{__name__}.SlowBackend")
def test_two_workers_delivering_the_same_message_at_once_send_it_once():
    SlowBackend.sent = []
    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            sms_deliver(message_id=message.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(SlowBackend.sent) == 1
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.attempts == 1
