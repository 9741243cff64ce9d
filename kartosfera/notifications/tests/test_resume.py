"""A delivery whose task died with its worker is enqueued again (sms_deliveries_resume, manage.py sms_sweep).

The database queue marks a task running when a worker claims it and hears of it again only from that worker: a
worker killed mid-delivery left the message queued for ever (found by tests/faults/test_batch_crashes.py).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import override_settings
from django.utils import timezone

from kartosfera.notifications.backends import locmem
from kartosfera.notifications.models import OutboundSms, SmsStatus
from kartosfera.notifications.services import sms_deliveries_resume, sms_send
from kartosfera.notifications.texts import SmsText
from kartosfera.testing.tasks import database_worker_run

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGE = SmsText(template="sca.code", text="Kartosfera code 482915: logowanie. Never give it to anybody.")
LATER = dt.timedelta(minutes=5)


@pytest.fixture(autouse=True)
def database_queue():
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        yield


def _worker_run() -> None:
    database_worker_run()


def _claimed_by_a_worker_that_died() -> OutboundSms:
    """A queued message whose only task a worker claimed (running) and never finished: killed with SIGKILL."""
    from django_tasks_db.models import DBTaskResult

    message = sms_send(to="+48600100200", message=MESSAGE, purpose="sca.login")
    [task] = [t for t in DBTaskResult.objects.all() if t.args_kwargs["args"] == [message.pk]]
    task.claim("dead-worker")
    return message


def _tasks(status: str) -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(status=status).count()


def test_a_message_whose_task_died_with_its_worker_is_enqueued_again_and_delivered_once():
    message = _claimed_by_a_worker_that_died()
    _worker_run()
    assert locmem.outbox == []  # the queue has nothing to run: without the sweep the message is lost
    assert OutboundSms.objects.get(pk=message.pk).status == SmsStatus.QUEUED

    assert sms_deliveries_resume(now=timezone.now() + LATER) == 1
    assert _tasks("READY") == 1
    # A second sweep before the worker ran finds the task waiting: nothing more.
    assert sms_deliveries_resume(now=timezone.now() + LATER) == 0
    _worker_run()

    assert [sms.reference for sms in locmem.outbox] == [str(message.pk)]
    assert OutboundSms.objects.get(pk=message.pk).status == SmsStatus.SENT
    assert sms_deliveries_resume(now=timezone.now() + LATER) == 0


def test_a_message_waiting_for_its_retry_or_just_queued_or_already_sent_is_left_alone():
    from django_tasks_db.models import DBTaskResult

    sms_send(to="+48600100201", message=MESSAGE, purpose="sca.login")
    # Its retry is due later: the task waits with a run_after in the future.
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now() + LATER)
    young = _claimed_by_a_worker_that_died()

    assert sms_deliveries_resume() == 0  # the young one may still be having its first enqueue
    assert sms_deliveries_resume(now=timezone.now() + LATER) == 1  # the dead worker's, not the waiting one
    _worker_run()
    assert [sms.reference for sms in locmem.outbox] == [str(young.pk)]
    assert sms_deliveries_resume(now=timezone.now() + LATER) == 0


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
def test_a_message_a_live_worker_is_sending_is_not_enqueued_again():
    message = _claimed_by_a_worker_that_died()
    locked, release = threading.Event(), threading.Event()

    def live_worker() -> None:
        # sms_deliver holds the row's lock while it talks to the gateway.
        try:
            with transaction.atomic():
                OutboundSms.objects.select_for_update().get(pk=message.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=live_worker)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        assert sms_deliveries_resume(now=timezone.now() + LATER) == 0
    finally:
        release.set()
        thread.join()
    assert sms_deliveries_resume(now=timezone.now() + LATER) == 1


def test_the_sweep_command_enqueues_the_lost_deliveries(capsys):
    _claimed_by_a_worker_that_died()
    call_command("sms_sweep", "--min-age", "0")
    assert "Enqueued again 1 delivery(ies)" in capsys.readouterr().out
    _worker_run()
    assert len(locmem.outbox) == 1


@override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}})
def test_on_a_queue_it_cannot_read_a_retry_not_yet_due_is_left_to_its_task():
    """RQ's queue is not read: a failed try's retry_at keeps the sweep from enqueueing it before its backoff ends."""
    message = sms_send(to="+48600100202", message=MESSAGE, purpose="sca.login")
    old = timezone.now() - LATER
    OutboundSms.objects.filter(pk=message.pk).update(created_at=old, attempts=1, retry_at=timezone.now() + LATER)

    assert sms_deliveries_resume(min_age=dt.timedelta(minutes=1)) == 0
    assert sms_deliveries_resume(min_age=dt.timedelta(minutes=1), now=timezone.now() + 2 * LATER) == 1
