"""SMS metrics: the queue's depth and age read at scrape time, deliveries sent and failed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kartosfera.notifications.backends import SmsDeliveryError
from kartosfera.notifications.metrics import SmsQueueCollector
from kartosfera.notifications.models import OutboundSms, SmsStatus
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.tests.test_delivery import DUMMY_TASKS, MESSAGE, PHONE, scripted  # noqa: F401
from kartosfera.testing.metrics import scrape

pytestmark = pytest.mark.django_db
QUEUED = "kartosfera_sms_queued_messages"
OLDEST = "kartosfera_sms_oldest_queued_age_seconds"


@override_settings(TASKS=DUMMY_TASKS)
def test_the_queue_gauge_counts_the_messages_not_yet_delivered(metrics_token, django_capture_on_commit_callbacks):
    assert scrape().value(QUEUED) == 0 and scrape().value(OLDEST) == 0
    with django_capture_on_commit_callbacks(execute=True):  # the deliveries go to a queue nobody works
        first = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")
        sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")
        sent = sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")
    OutboundSms.objects.filter(pk=sent.pk).update(status=SmsStatus.SENT, text_ciphertext="")
    OutboundSms.objects.filter(pk=first.pk).update(created_at=timezone.now() - dt.timedelta(minutes=10))
    now = scrape()
    assert now.value(QUEUED) == 2
    assert 600 <= now.value(OLDEST) < 700


def test_the_queue_is_read_with_one_query():
    with CaptureQueriesContext(connection) as queries:
        families = list(SmsQueueCollector().collect())
    assert len(queries) == 1
    assert [family.name for family in families] == [QUEUED, OLDEST]


def test_deliveries_sent_and_failed_are_counted(metrics_token, scripted, django_capture_on_commit_callbacks):  # noqa: F811
    failures = "kartosfera_sms_delivery_failures_total"
    before = scrape()
    scripted.errors = [SmsDeliveryError("gateway answered HTTP 503", status_code=503)]
    with django_capture_on_commit_callbacks(execute=True):
        sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")  # fails once, then the retry is taken
    scripted.errors = [SmsDeliveryError("gateway answered HTTP 400", retryable=False, status_code=400)]
    with django_capture_on_commit_callbacks(execute=True):
        sms_send(to=PHONE, message=MESSAGE, purpose="users.locked")  # given up at once
    after = scrape()
    assert (
        after.value(failures, purpose="sca.login", final="false")
        == before.value(failures, purpose="sca.login", final="false") + 1
    )
    assert (
        after.value(failures, purpose="users.locked", final="true")
        == before.value(failures, purpose="users.locked", final="true") + 1
    )
    assert (
        after.value("kartosfera_sms_sent_total", purpose="sca.login")
        == before.value("kartosfera_sms_sent_total", purpose="sca.login") + 1
    )
    assert PHONE not in after.text and PHONE.lstrip("+") not in after.text
