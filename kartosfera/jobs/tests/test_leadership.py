"""Exactly one scheduler leads: real scheduler processes on PostgreSQL, and the locks each database uses."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from kartosfera.jobs.leadership import FileLeadership, PostgresLeadership
from kartosfera.jobs.models import JobRun, JobRunSource, JobRunState

ROOT = Path(__file__).resolve().parents[3]


def test_the_file_lock_lets_one_holder_lead(tmp_path):
    path = tmp_path / "db.sqlite3.scheduler-lock"
    first, second = FileLeadership(path), FileLeadership(path)
    assert first.acquire() and first.held()
    assert not second.acquire() and not second.held()
    first.release()
    assert second.acquire()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    second.release()


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the advisory lock is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_the_advisory_lock_lets_one_session_lead():
    first, second = PostgresLeadership(), PostgresLeadership()
    try:
        assert first.acquire() and first.held()
        assert not second.acquire() and not second.held()
        # The lock's own session notices a dead peer (keepalives); Django's connections keep their settings.
        parameters = first._wrapper.connection.info.get_parameters()  # type: ignore[union-attr]
        assert parameters["keepalives_idle"] == "30" and parameters["tcp_user_timeout"] == "60000"
        assert "keepalives_idle" not in connection.settings_dict.get("OPTIONS", {})
        first.release()  # its session ends: the lock is free
        assert not first.held()
        assert second.acquire() and second.held()
    finally:
        first.release()
        second.release()


def _database_url() -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return (
        f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/"
        f"{settings['NAME']}"
    )


def _start_scheduler() -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": _database_url(), "KARTOSFERA_ENV": "test"}
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_scheduler",
            "--only",
            "purge_idempotency_records",
            "--every",
            "1",
            "--standby-seconds",
            "0.3",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(condition, seconds: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the advisory lock is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_of_three_scheduler_processes_one_enqueues_each_slot_and_a_standby_takes_over():
    """Three real `manage.py run_scheduler` processes, a slot a second: one process enqueues every slot; killed,
    another takes over within its standby interval, and catches up the slot missed meanwhile."""
    processes = [_start_scheduler() for _ in range(3)]
    try:
        runs = JobRun.objects.filter(job="purge_idempotency_records")
        _wait_for(lambda: runs.count() >= 4, 30)
        leaders = set(runs.values_list("pid", flat=True))
        assert len(leaders) == 1, "every slot was enqueued by one process"
        leader = next(p for p in processes if p.pid in leaders)
        leader.send_signal(signal.SIGKILL)  # no goodbye: its session dies with it, and the lock with the session
        leader.wait(10)
        killed_at = runs.order_by("-slot").first().slot  # type: ignore[union-attr]

        _wait_for(lambda: runs.exclude(pid=leader.pid).count() >= 3, 20)
        successors = set(runs.exclude(pid=leader.pid).values_list("pid", flat=True))
        assert len(successors) == 1
        assert successors <= {p.pid for p in processes if p is not leader}
        slots = sorted(runs.values_list("slot", flat=True))
        assert len(slots) == len(set(slots))
        # Each second has its run until the kill; then the successor catches up the latest slot it missed
        # (once) and goes on each second: no second lost after its catch-up's slot.
        after = [s for s in slots if s > killed_at]
        catch_up_runs = runs.filter(source=JobRunSource.CATCH_UP)
        assert catch_up_runs.count() <= 2  # the first leader's start, and the successor's
        assert all((b - a).total_seconds() == 1 for a, b in itertools.pairwise(after))
        # The jobs ran in the schedulers here (the tests' immediate task backend): the leader killed in the middle
        # of a run leaves that one run "running" (docs/operations.md); every other run succeeded.
        unfinished = runs.exclude(state=JobRunState.SUCCEEDED)
        assert set(unfinished.values_list("state", flat=True)) <= {JobRunState.RUNNING}
        assert set(unfinished.values_list("pid", flat=True)) <= {leader.pid} and unfinished.count() <= 1
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        outputs = []
        for process in processes:
            try:
                out, _err = process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _err = process.communicate()
            outputs.append(out)
    standbys = [out for out in outputs if "stands by and takes over" in out]
    assert len(standbys) == 2, outputs
    assert sum("Scheduler stopped." in out for out in outputs) == 2  # the two alive stop on SIGTERM
