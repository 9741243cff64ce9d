"""Text-message delivery through each production task queue (database, RQ) and a real worker."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from kartosfera.core.models import AuditEvent
from kartosfera.core.tests.test_settings import ROOT
from kartosfera.notifications.backends import SmsDeliveryError, locmem
from kartosfera.notifications.models import OutboundSms, SmsStatus
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.tests.gateway import Answer
from kartosfera.notifications.tests.test_delivery import MESSAGE, PHONE, SCRIPTED, TEXT, ScriptedBackend
from kartosfera.testing.tasks import TEST_REDIS_URL, Queued

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scripted():
    ScriptedBackend.errors = []
    ScriptedBackend.sent = []
    with override_settings(SMS_BACKEND=SCRIPTED, SMS_BACKEND_OPTIONS={}):
        yield ScriptedBackend


def test_a_message_is_queued_only_once_its_transaction_commits_then_the_worker_delivers_it(task_queue):
    with transaction.atomic():
        message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")
        # RQ does not take part in the transaction: the enqueue must wait for the commit (on_commit),
        # or a worker could look for a row that is not there yet, or was rolled back.
        assert task_queue.queued() == []

    # Only the message's id goes on the queue, never its number or text.
    assert task_queue.queued() == [Queued(task="sms_deliver_task", args=[message.pk], run_after=None)]
    assert locmem.outbox == []

    task_queue.work()

    assert [sms.text for sms in locmem.outbox] == [TEXT]
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.text_ciphertext == "" and message.attempts == 1
    assert task_queue.queued() == []


def test_a_rolled_back_message_never_reaches_the_queue(task_queue):
    with pytest.raises(RuntimeError), transaction.atomic():
        sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")
        raise RuntimeError("the operation failed")

    assert task_queue.queued() == []
    task_queue.work()
    assert locmem.outbox == [] and not OutboundSms.objects.exists()


@override_settings(SMS_DELIVERY_RETRY_DELAY=1)
def test_a_retryable_failure_is_retried_by_the_worker_only_after_its_delay(task_queue, scripted):
    scripted.errors = [SmsDeliveryError("gateway answered HTTP 503", status_code=503)] * 2
    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    before = timezone.now()
    task_queue.work()

    # The first try failed; the retry waits on the queue for its delay (RQ: in the scheduled registry).
    message.refresh_from_db()
    assert message.status == SmsStatus.QUEUED and message.attempts == 1
    [retry] = task_queue.queued()
    assert retry.task == "sms_deliver_task" and retry.args == [message.pk]
    assert retry.run_after is not None
    # RQ keeps the time in whole seconds (rounded down); the database to the microsecond.
    assert before.replace(microsecond=0) + dt.timedelta(seconds=1) <= retry.run_after
    assert retry.run_after <= timezone.now() + dt.timedelta(seconds=1)
    task_queue.work()  # not due yet: the worker leaves it
    message.refresh_from_db()
    assert message.attempts == 1

    # 1 s, then 2 s (the delay doubles): the third try is sent.
    waited = task_queue.work_until(lambda: OutboundSms.objects.get(pk=message.pk).status == SmsStatus.SENT)

    assert waited >= 2
    message.refresh_from_db()
    assert message.attempts == 3 and message.text_ciphertext == "" and message.last_error == ""
    assert [sms.text for sms in scripted.sent] == [TEXT]
    assert task_queue.queued() == []


def test_a_permanent_failure_fails_the_message_at_once_and_queues_nothing_more(task_queue, scripted):
    scripted.errors = [SmsDeliveryError("gateway answered HTTP 400", retryable=False, status_code=400)]
    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    task_queue.work()

    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and message.attempts == 1 and message.text_ciphertext == ""
    assert AuditEvent.objects.get(action="notifications.sms.failed").after["status_code"] == 400
    assert task_queue.queued() == [] and scripted.sent == []


def _rqworker(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Production's RQ worker command, burst mode: its own process, forking a child per job."""
    return subprocess.run(
        [sys.executable, "manage.py", "rqworker", "--burst", "--with-scheduler", "default"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.postgres_only
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the worker process needs the test database: SQLite's is in memory"
)
def test_the_rqworker_command_retries_a_failed_delivery_after_its_delay_then_sends_it(rq_task_queue, gateway):
    gateway.script.append(Answer(status=503))
    db = connection.settings_dict
    env = {
        **os.environ,
        "KARTOSFERA_ENV": "test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TASKS_BACKEND": "rq",
        "REDIS_URL": TEST_REDIS_URL,
        "SMS_BACKEND": "http",
        "SMS_GATEWAY_URL": gateway.url,
        "SMS_GATEWAY_RETRIES": "0",
        "SMS_DELIVERY_RETRY_DELAY": "1",
    }
    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    first = _rqworker(env)
    assert first.returncode == 0, first.stderr
    message.refresh_from_db()
    assert message.status == SmsStatus.QUEUED and message.attempts == 1  # 503: a retry waits a second
    [retry] = rq_task_queue.queued()
    assert retry.args == [message.pk] and retry.run_after is not None

    # The scheduler of a later worker moves the retry to the queue once it is due.
    deadline = time.monotonic() + 30
    while message.status == SmsStatus.QUEUED and time.monotonic() < deadline:
        time.sleep(0.5)
        result = _rqworker(env)
        assert result.returncode == 0, result.stderr
        message.refresh_from_db()

    assert message.status == SmsStatus.SENT and message.attempts == 2 and message.text_ciphertext == ""
    assert [sent.body["to"] for sent in gateway.received] == [PHONE, PHONE]
    assert rq_task_queue.queued() == []
