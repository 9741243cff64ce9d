"""Nothing lost when the batch processes die (issue 16): the statement close killed half-way and run again; the
SMS worker killed while the gateway holds a message; the SMS gateway down for a while."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from django.db import connection

from kartosfera.testing.processes import django_call, kill_group, manage, wait_for
from tests.faults.conftest import report

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the fault tests run on a private PostgreSQL"),
]
ACCOUNTS = 220
TASKS = "django_tasks_database_dbtaskresult"
SENT = "SELECT count(*) FROM notifications_outboundsms WHERE status = 'sent'"


def _count(env: dict[str, str], sql: str) -> int:
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as db:
        row = db.execute(sql).fetchone()  # type: ignore[arg-type]
        return int(row[0]) if row else 0


def _finish(process, *, timeout: float = 120) -> int:
    try:
        return process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            kill_group(process)


def test_the_statement_close_killed_half_way_then_run_again_closes_every_account_once(cluster, logs):
    env = cluster.database("statements")
    data = django_call(env, "tests.faults.inside:statement_data", ACCOUNTS)
    close = ["close_statements", "--date", data["as_of"]]
    first = manage(env, *close, log=logs / "close.log")
    try:
        # Killed (the command and its two forked workers, SIGKILL) once some batches are committed, not all.
        assert wait_for(lambda: _count(env, "SELECT count(*) FROM statements_statement") > 0, timeout=60, every=0.01)
    finally:
        kill_group(first)
    after_kill = django_call(env, "tests.faults.inside:statement_check", data["as_of"])
    assert not after_kill["defects"], after_kill["defects"]
    assert 0 < after_kill["closed"] < ACCOUNTS, after_kill  # killed half-way, not after the end
    # Each closed account is closed whole (statement, lines, audit row, SMS), the others not at all.
    assert after_kill["audit_rows"] == after_kill["sms"] == after_kill["statements"] == after_kill["closed"]
    assert after_kill["still_due"] == ACCOUNTS - after_kill["closed"]

    assert _finish(manage(env, *close, log=logs / "close.log")) == 0
    final = django_call(env, "tests.faults.inside:statement_check", data["as_of"])
    assert not final["defects"], final["defects"]
    assert final["closed"] == final["statements"] == final["audit_rows"] == final["sms"] == ACCOUNTS
    assert final["fees"] == ACCOUNTS // 2  # every second account took cash: one fee each
    assert final["still_due"] == 0
    # Every statement's SMS has its delivery waiting on the queue; one whose enqueue died with the process (it
    # comes after the batch's commit) is enqueued again by the sweep.
    ready = f"SELECT count(DISTINCT args_kwargs) FROM {TASKS} WHERE status = 'READY'"  # noqa: S608 (constants)
    lost_enqueues = ACCOUNTS - _count(env, ready)
    assert manage(env, "sms_sweep", "--min-age", "0").wait(timeout=60) == 0
    assert _count(env, ready) == ACCOUNTS
    report(
        "statement close killed",
        f"{ACCOUNTS} accounts due; killed (SIGKILL, with its workers) after {after_kill['closed']} were closed, "
        f"nothing partly closed",
        f"rerun: {final['closed']} accounts closed once each, {final['statements']} statements, "
        f"{final['audit_rows']} audit rows, {final['sms']} SMS, {final['fees']} cash fees; missing 0, doubled 0",
        f"SMS deliveries whose enqueue died with the process: {lost_enqueues}, enqueued again by sms_sweep",
    )


class Gateway:
    """A real SMS gateway on 127.0.0.1 that deduplicates on the Idempotency-Key (as docs/sms.md asks of one):
    it answers 503 while ``down``, holds its answer ``hold`` seconds (taking the message first) while set, and
    records every POST and every message it took."""

    def __init__(self) -> None:
        self.down = False
        self.hold = 0.0
        self.posts: list[str] = []
        self.delivered: Counter[str] = Counter()
        self.took = threading.Event()
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                key = self.headers.get("Idempotency-Key", "")
                with gateway._lock:
                    gateway.posts.append(key)
                    down, hold = gateway.down, gateway.hold
                    if not down and key not in gateway.delivered:
                        gateway.delivered[key] += 1  # sent to the phone: once per key
                if down:
                    self._answer(503, {"error": "maintenance"})
                    return
                if hold:
                    gateway.took.set()
                    time.sleep(hold)
                self._answer(200, {"id": f"gw-{body['reference']}"})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the worker died or gave up

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    gateway = Gateway()
    yield gateway
    gateway.close()


def _sms_env(cluster, name: str, gateway: Gateway) -> dict[str, str]:
    return cluster.database(
        name,
        SMS_BACKEND="http",
        SMS_GATEWAY_URL=gateway.url,
        SMS_GATEWAY_TIMEOUT="1",
        SMS_GATEWAY_RETRIES="0",
        SMS_DELIVERY_RETRY_DELAY="0.5",  # tries at 0, 0.5, 1.5, 3.5, 7.5 s
        SMS_DELIVERY_MAX_ATTEMPTS="5",
    )


def _worker(env: dict[str, str], logs):
    return manage(env, "db_worker", "--interval", "0.1", "--no-startup-delay", log=logs / "worker.log")


def test_the_sms_worker_killed_mid_delivery_then_started_again_delivers_every_message_once(cluster, logs, gateway):
    env = _sms_env(cluster, "sms_kill", gateway)
    count = 60
    ids = django_call(env, "tests.faults.inside:sms_queue", count)
    keys = {f"kartosfera-sms-{i}" for i in ids}
    worker = _worker(env, logs)
    try:
        assert wait_for(lambda: len(gateway.delivered) >= count // 3, timeout=60)
        # The gateway takes the next message and holds its answer: the worker is killed before it hears "sent".
        gateway.hold = 30.0
        assert gateway.took.wait(timeout=30)
    finally:
        kill_group(worker)
    gateway.hold = 0.0
    at_kill = len(gateway.delivered)
    # The dead worker's task stays "running": nobody will run it again, and its message stays queued.
    assert _count(env, f"SELECT count(*) FROM {TASKS} WHERE status = 'RUNNING'") == 1  # noqa: S608 (constants)

    # The sweep (cron, every minute) finds the message no task will deliver; a new worker delivers the rest.
    resumed = manage(env, "sms_sweep", "--min-age", "0", log=logs / "sweep.log")
    assert resumed.wait(timeout=60) == 0
    worker = _worker(env, logs)
    try:
        delivered = wait_for(lambda: set(gateway.delivered) == keys, timeout=60)
        sent = wait_for(lambda: _count(env, SENT) == count, timeout=30)
    finally:
        kill_group(worker)
    assert delivered, f"{len(set(gateway.delivered) & keys)} of {count} delivered"
    assert sent
    assert set(gateway.delivered.values()) == {1}
    posted = Counter(gateway.posts)
    again = [key for key, n in posted.items() if n > 1]
    assert len(again) == 1  # the message held at the kill: posted again with its key, sent once
    report(
        "sms worker killed",
        f"{count} SMS queued; worker killed (SIGKILL) after {at_kill} taken by the gateway, one of them unanswered",
        f"sms_sweep enqueued again the message whose task died; restarted: {len(gateway.delivered)} delivered, "
        f"missing {count - len(gateway.delivered)}, doubled 0 ({len(gateway.posts)} POSTs: the held one twice, "
        f"with the same Idempotency-Key)",
    )


def test_the_sms_gateway_down_for_a_while_gets_every_message_later_once(cluster, logs, gateway):
    env = _sms_env(cluster, "sms_down", gateway)
    count = 30
    gateway.down = True
    ids = django_call(env, "tests.faults.inside:sms_queue", count)
    keys = {f"kartosfera-sms-{i}" for i in ids}
    worker = _worker(env, logs)
    try:
        # Down until every message was refused at least once, then 1.5 s more.
        assert wait_for(lambda: set(gateway.posts) == keys, timeout=60)
        time.sleep(1.5)
        refused = len(gateway.posts)
        gateway.down = False
        up = time.monotonic()
        assert wait_for(lambda: set(gateway.delivered) == keys, timeout=60), f"{len(gateway.delivered)} delivered"
        took = time.monotonic() - up
        state = django_call(env, "tests.faults.inside:sms_state")
    finally:
        kill_group(worker)
    assert state["messages"] == {"sent": count}
    assert set(gateway.delivered.values()) == {1}
    report(
        "sms gateway down",
        f"{count} SMS; the gateway answered 503 to {refused} tries, then came back",
        f"{len(gateway.delivered)} delivered within {took:.1f} s of its return, missing 0, doubled 0; "
        f"attempts per message {dict(sorted(state['attempts'].items()))}",
    )
