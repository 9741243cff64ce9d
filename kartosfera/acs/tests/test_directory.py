"""The RReq's delivery: the in-process directory server, a real HTTP one (fails twice, then answers), retries."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from kartosfera.acs.challenge import challenge_expire_due
from kartosfera.acs.directory import (
    DirectoryServerError,
    HttpDirectoryServer,
    InProcessDirectoryServer,
    directory_server_client,
    rreq_deliver,
    rreq_deliver_due,
    rres_check,
)
from kartosfera.acs.models import AuthenticationRecord, RReqStatus
from kartosfera.acs.selectors import rreq_received
from kartosfera.acs.services import challenge_end
from kartosfera.acs.tests.test_challenge import pending
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent

pytestmark = pytest.mark.django_db


class _DirectoryServer(BaseHTTPRequestHandler):
    """Answers 503 to the first ``failures`` RReqs, then a proper RRes; records every body it got."""

    failures = 0
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        if len(type(self).received) <= type(self).failures:
            self.send_response(503)
            self.end_headers()
            return
        answer = json.dumps(
            {
                "messageType": "RRes",
                "messageVersion": body["messageVersion"],
                "threeDSServerTransID": body["threeDSServerTransID"],
                "acsTransID": body["acsTransID"],
                "resultsStatus": "01",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def directory_server(settings) -> Iterator[type[_DirectoryServer]]:
    handler = type("Handler", (_DirectoryServer,), {"failures": 2, "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.ACS_DIRECTORY_SERVER_URL = f"http://127.0.0.1:{server.server_port}/rreq"
    settings.ACS_RREQ_RETRY_DELAY = 30
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def ended(**kwargs: Any) -> AuthenticationRecord:
    return challenge_end(actor=Actor.system("tests"), record=pending(), authenticated=False, reason="01", **kwargs)


def test_the_client_is_chosen_by_the_setting(settings):
    settings.ACS_DIRECTORY_SERVER_URL = ""
    assert isinstance(directory_server_client(), InProcessDirectoryServer)
    settings.ACS_DIRECTORY_SERVER_URL = "https://ds.example/rreq"
    assert isinstance(directory_server_client(), HttpDirectoryServer)


def test_the_in_process_server_acknowledges_a_known_rreq_and_refuses_others():
    record = ended()
    rreq = json.loads(record.rreq)
    rres = InProcessDirectoryServer().send(rreq)
    assert rres["messageType"] == "RRes" and rres["resultsStatus"] == "01"
    assert rres["acsTransID"] == str(record.acs_trans_id)
    for broken in (
        {**rreq, "acsTransID": "5b3f0d8e-1111-4111-8111-111111111111"},
        {**rreq, "messageType": "AReq"},
        {**rreq, "transStatus": "Q"},
    ):
        with pytest.raises(DirectoryServerError):
            InProcessDirectoryServer().send(broken)


def test_rreq_received_shows_the_rreq_only_once_delivered_and_only_in_process(settings):
    record = ended()
    assert rreq_received(record.three_ds_server_trans_id) is None
    rreq_deliver(record_id=record.pk)
    assert rreq_received(str(record.three_ds_server_trans_id)) == json.loads(record.rreq)
    assert rreq_received("not-a-uuid") is None
    settings.ACS_DIRECTORY_SERVER_URL = "https://ds.example/rreq"
    assert rreq_received(record.three_ds_server_trans_id) is None


def test_a_real_http_server_that_fails_twice_gets_the_rreq_on_the_third_try(directory_server):
    record = ended()
    now = timezone.now()
    first = rreq_deliver(record_id=record.pk, now=now)
    assert first is not None and first.rreq_status == RReqStatus.PENDING and first.rreq_attempts == 1
    assert first.rreq_error == "HTTP 503" and first.rreq_next_at == now + dt.timedelta(seconds=30)
    second = rreq_deliver(record_id=record.pk, now=now)
    assert second is not None and second.rreq_next_at == now + dt.timedelta(seconds=60)  # backs off
    third = rreq_deliver(record_id=record.pk, now=now)
    assert third is not None and third.rreq_status == RReqStatus.DELIVERED and third.rreq_attempts == 3
    assert json.loads(third.rres)["resultsStatus"] == "01" and third.rreq_error == ""
    assert directory_server.received == [json.loads(record.rreq)] * 3
    actions = list(AuditEvent.objects.filter(object_id=str(record.pk)).values_list("action", flat=True))
    assert actions.count("acs.rreq.retry_scheduled") == 2 and actions.count("acs.rreq.delivered") == 1
    # Delivered: another run sends nothing.
    rreq_deliver(record_id=record.pk)
    assert len(directory_server.received) == 3


def test_the_task_retries_a_failed_delivery(directory_server, django_capture_on_commit_callbacks):
    record = ended()
    # The tests' task backend runs the retry at once, after commit: the first try fails, the retries go on.
    with django_capture_on_commit_callbacks(execute=True):
        rreq_deliver(record_id=record.pk)
    record.refresh_from_db()
    assert record.rreq_status == RReqStatus.DELIVERED and record.rreq_attempts == 3


def test_the_rreq_is_given_up_after_the_last_attempt(directory_server, settings):
    directory_server.failures = 100
    settings.ACS_RREQ_MAX_ATTEMPTS = 2
    record = ended()
    rreq_deliver(record_id=record.pk)
    last = rreq_deliver(record_id=record.pk)
    assert last is not None and last.rreq_status == RReqStatus.FAILED and last.rreq_next_at is None
    assert AuditEvent.objects.filter(action="acs.rreq.failed", object_id=str(record.pk)).count() == 1


def test_an_answer_that_is_no_rres_for_this_transaction_is_a_failure(directory_server, settings):
    directory_server.failures = 0
    client = HttpDirectoryServer(settings.ACS_DIRECTORY_SERVER_URL, timeout=2)
    rreq = json.loads(ended().rreq)
    rres = client.send(rreq)
    assert rres["resultsStatus"] == "01"
    with pytest.raises(DirectoryServerError):
        rres_check({**rreq, "acsTransID": "another"}, rres)
    with pytest.raises(DirectoryServerError):
        rres_check(rreq, {**rres, "resultsStatus": ""})
    with pytest.raises(DirectoryServerError):
        rres_check(rreq, ["not", "an", "RRes"])


def test_an_unreachable_server_is_a_failure_not_a_crash(settings):
    settings.ACS_DIRECTORY_SERVER_URL = "http://127.0.0.1:9/rreq"
    record = ended()
    result = rreq_deliver(record_id=record.pk)
    assert result is not None and result.rreq_status == RReqStatus.PENDING
    assert result.rreq_error.startswith("unreachable")


def test_the_sweep_delivers_only_what_is_due(directory_server):
    directory_server.failures = 0
    record = ended()
    AuthenticationRecord.objects.filter(pk=record.pk).update(rreq_next_at=timezone.now() + dt.timedelta(minutes=1))
    assert challenge_expire_due() == 0
    assert rreq_deliver_due() == 0 and directory_server.received == []
    assert rreq_deliver_due(now=timezone.now() + dt.timedelta(minutes=2)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_rreq_is_retried_by_each_production_queue_after_its_delay(directory_server, settings, task_queue):
    directory_server.failures = 1
    settings.ACS_RREQ_RETRY_DELAY = 1
    record = ended()

    # The first try (the challenge sends it while the holder waits) fails: after its commit, a retry
    # waits on the queue for a second, with only the record's id.
    rreq_deliver(record_id=record.pk)
    record.refresh_from_db()
    assert record.rreq_status == RReqStatus.PENDING and record.rreq_attempts == 1
    [retry] = task_queue.queued()
    assert (retry.task, retry.args) == ("rreq_deliver_task", [record.pk]) and retry.run_after is not None

    task_queue.work_until(lambda: AuthenticationRecord.objects.get(pk=record.pk).rreq_status == RReqStatus.DELIVERED)

    record.refresh_from_db()
    assert record.rreq_attempts == 2 and len(directory_server.received) == 2
    assert task_queue.queued() == []
