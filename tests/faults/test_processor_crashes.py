"""Nothing lost when processes die (issue 16): a load of authorizations, reversals and clearing through gunicorn
(production settings, 3 workers) while a worker is killed with SIGKILL, or while PostgreSQL is stopped with
``-m immediate`` (a crash: no checkpoint, recovery from the WAL) and started again.

After the fault: every request that got an answer is in the database exactly once with the answer's decision;
a request in flight is either fully there (its row and its audit row) or absent; the books of every card add up;
the service answers again within seconds; and the processor's retries of every request (the same id and body)
get answers consistent with what is stored, writing nothing twice.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from kartosfera.testing.processes import Gunicorn, django_call, wait_for
from tests.faults.conftest import Cluster, report
from tests.faults.load import Load, Request, retry

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the fault tests crash a private PostgreSQL"),
]
CARDS = 24
THREADS = 6
PER_THREAD = 30


def _check(env: dict[str, str], requests: list[Request]) -> dict:
    return django_call(env, "tests.faults.inside:processor_check", [r.log() for r in requests])


def _consistent(request: Request, again: Request, stored: dict | None) -> str:
    """Why the retry's answer disagrees with the first answer or with what the database held; "" when it agrees."""
    if again.answer is None:
        return f"{request.kind} {request.id}: no answer to the retry ({again.error})"
    if request.kind == "clearing":
        # A record seen before is skipped ("duplicate"), an unseen one is posted now.
        expected = "duplicate" if request.answer is not None or stored is not None else "posted"
        if again.answer["outcome"] != expected:
            return f"clearing {request.id}: retry answered {again.answer['outcome']}, expected {expected}"
        return ""
    if request.answer is not None:
        return "" if again.answer == request.answer else f"{request.kind} {request.id}: the retry's answer differs"
    if stored is None:
        return ""  # never reached the database: decided now
    if request.kind == "authorization":
        fields = ("approved", "response_code", "authorization_code", "approved_amount_minor")
        differ = [f for f in fields if again.answer[f] != stored[f]]
        return f"authorization {request.id}: the retry's {differ} differ from the stored decision" if differ else ""
    return "" if again.answer["amount_minor"] == stored["amount_minor"] else f"reversal {request.id}: amount differs"


def _retry_all(url: str, token: str, requests: list[Request], found: dict) -> tuple[list[Request], list[str]]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        retried = list(pool.map(lambda r: retry(url, token, r), requests))
    problems = [p for r, a in zip(requests, retried, strict=True) if (p := _consistent(r, a, found.get(r.id)))]
    return retried, problems


def _run(cluster: Cluster, logs, *, name: str, fault) -> None:
    env = cluster.database(name)
    data = django_call(env, "tests.faults.inside:processor_data", CARDS)
    server = Gunicorn(env, workers=3, log=logs / "gunicorn.log")
    try:
        load = Load(server.url, data["token"], data["cards"], prefix=name, threads=THREADS, per_thread=PER_THREAD)
        runner = threading.Thread(target=load.run)
        runner.start()
        # The fault strikes once the load is well under way (a third of the authorizations answered).
        assert wait_for(lambda: load.answered >= THREADS * PER_THREAD // 3, timeout=60), "the load did not start"
        struck = time.monotonic()
        back, figures = fault(server)
        answering = wait_for(lambda: any(r.answered_at > back for r in list(load.requests)), timeout=30)
        load.keep_going.clear()
        runner.join(timeout=120)
        assert answering, "the service did not answer within 30 s of the fault"
        assert not runner.is_alive(), "the load did not end"
        requests = load.requests
        refused = [r for r in requests if r.status is not None and 400 <= r.status < 500]
        assert not refused, [(r.kind, r.id, r.status) for r in refused]
        first_after = min((r.answered_at for r in requests if r.answered_at > back), default=None)
        assert first_after is not None, "the service never answered again"
        recovery = first_after - back

        checked = _check(env, requests)
        assert not checked["defects"], checked["defects"]
        unanswered = [r for r in requests if r.answer is None]
        in_flight_there = sum(1 for r in unanswered if r.id in checked["found"])
        retried, problems = _retry_all(server.url, data["token"], requests, checked["found"])
        assert not problems, problems
        pairs = zip(requests, retried, strict=True)
        answers = [Request(r.kind, r.id, r.path, r.body, answer=a.answer) for r, a in pairs]
        final = _check(env, answers)
        assert not final["defects"], final["defects"]
        lost = sum(1 for r in requests if r.answer is not None and r.id not in checked["found"])
        assert final["present"] == len(requests)
        report(
            name,
            f"requests sent {len(requests)} ({sum(r.kind == 'authorization' for r in requests)} authorizations, "
            f"{sum(r.kind == 'reversal' for r in requests)} reversals, {sum(r.kind == 'clearing' for r in requests)} "
            f"clearing records); answered {checked['answered']}, found {checked['answered'] - lost}, lost {lost}",
            f"unanswered {len(unanswered)}: {in_flight_there} fully in the database, "
            f"{len(unanswered) - in_flight_there} absent, none partly",
            f"answered again {recovery:.2f} s after the service was back "
            f"({first_after - struck:.2f} s after the fault struck)",
            f"retries of all {len(requests)} requests: consistent, nothing twice; "
            f"books of {final['cards_checked']} cards add up",
            *figures,
        )
    finally:
        server.stop()


def test_a_gunicorn_worker_killed_mid_load_loses_nothing_and_doubles_nothing(cluster, logs):
    def kill_a_worker(server: Gunicorn) -> tuple[float, list[str]]:
        victim = server.busy_worker()  # one serving a request: its client's connection is cut
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        assert wait_for(
            lambda: victim not in server.worker_pids() and len(server.worker_pids()) == server.workers, timeout=30
        ), "gunicorn did not replace the killed worker"
        return killed, [f"the master replaced the killed worker in {time.monotonic() - killed:.2f} s"]

    _run(cluster, logs, name="worker_kill", fault=kill_a_worker)


def test_postgresql_crashed_and_restarted_mid_load_loses_nothing_and_doubles_nothing(cluster, logs):
    def crash_postgres(server: Gunicorn) -> tuple[float, list[str]]:
        stopped = time.monotonic()
        cluster.postgres.stop("immediate")
        time.sleep(1.5)  # down for a while: requests meanwhile fail with 500, the processor retries them later
        cluster.postgres.start()
        back = time.monotonic()
        return back, [f"PostgreSQL down {back - stopped:.2f} s (stopped -m immediate, started, WAL recovery)"]

    _run(cluster, logs, name="postgres_crash", fault=crash_postgres)
