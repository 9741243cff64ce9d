"""The task queues of production, for tests: enqueue through the real backend, run a real worker in burst mode.

`task_queue` (a pytest fixture in the root conftest.py) is parametrized over both production
backends, so a test that takes it runs twice:

- ``database``: django-tasks-db's queue in the test database, run by db_worker's own ``Worker``
  in batch mode, in this process (the command's loop without its signal handling);
- ``rq``: django-tasks-rq's queue in a real Redis (``TEST_REDIS_URL``, by default db 15 of the
  local Redis, db 14 for the second pytest-xdist worker; the queue's db is emptied before and after
  each test with FLUSHDB, never FLUSHALL: other programs may share the server), run by an RQ
  ``SimpleWorker`` in burst mode with its scheduler, so a task deferred with ``run_after`` waits in
  RQ's scheduled registry until due.
  (Without RQ's remote-control channel: see ``_burst_worker_class``.)
  ``SimpleWorker`` runs each job in this process (the ``rqworker`` command forks a child per job):
  the test's database connection and in-memory SMS outbox are the worker's.

Without a reachable Redis the ``rq`` runs are skipped with the reason, except under ``CI=true``,
where they fail: CI must never pass without having run them (scripts/test.sh starts Redis).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.test import override_settings

if TYPE_CHECKING:
    from rq import Queue


def _worker_redis_url(url: str, worker: str) -> str:
    """The Redis db of this pytest-xdist worker: gw0 keeps the db of ``url``, gw1 the one below it, and so on (each
    worker FLUSHDBs its own; the fault tests' db 13 is theirs: they run apart, after the parallel run)."""
    if not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0) - int(worker.removeprefix("gw"))
    if db < 0:
        raise ValueError(f"TEST_REDIS_URL {url!r} leaves no Redis db for pytest-xdist worker {worker}: use a higher db")
    return urlunsplit(parts._replace(path=f"/{db}"))


TEST_REDIS_URL = _worker_redis_url(
    os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"), os.environ.get("PYTEST_XDIST_WORKER", "")
)
BACKENDS = ("database", "rq")


@dataclass(frozen=True)
class Queued:
    """One task waiting on the queue: what it runs, its arguments, not before when (None: at once)."""

    task: str
    args: list[object]
    run_after: dt.datetime | None


class TaskQueue:
    """The backend a test runs against, and its worker."""

    name: str
    settings: dict[str, object]

    def queued(self) -> list[Queued]:
        """The tasks waiting, due or deferred, oldest first."""
        raise NotImplementedError

    def work(self) -> None:
        """Run the tasks that are due until none is left (a worker in burst mode), then return."""
        raise NotImplementedError

    def work_until(self, done: Callable[[], bool], *, timeout: float = 15.0) -> float:
        """Keep a worker running the tasks as they fall due until ``done()``; return the seconds it took."""
        start = time.monotonic()
        while True:
            self.work()
            if done():
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise AssertionError(f"not done after {timeout} s; still queued: {self.queued()}")
            time.sleep(0.1)


def database_worker_run(*, worker_id: str = "test-worker") -> None:
    """db_worker's own Worker in batch mode: runs every task due on the database queue, then returns."""
    from django_tasks_db.management.commands.db_worker import Worker

    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run()


class DatabaseQueue(TaskQueue):
    name = "database"
    settings = {"TASKS": {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}}

    def queued(self) -> list[Queued]:
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult, get_date_max

        rows = DBTaskResult.objects.filter(status=TaskResultStatus.READY).order_by("enqueued_at")
        return [
            Queued(
                task=row.task_path.rsplit(".", 1)[-1],
                args=row.args_kwargs["args"],
                run_after=None if row.run_after == get_date_max() else row.run_after,
            )
            for row in rows
        ]

    def work(self) -> None:
        database_worker_run(worker_id="test-db-worker")


class RedisQueue(TaskQueue):
    name = "rq"
    settings = {
        "TASKS": {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}},
        "RQ_QUEUES": {"default": {"URL": TEST_REDIS_URL, "DEFAULT_TIMEOUT": 60}},
    }

    def __init__(self) -> None:
        import redis

        self.redis = redis.Redis.from_url(TEST_REDIS_URL)

    def _queue(self) -> Queue:
        import django_rq

        return django_rq.get_queue("default")

    def queued(self) -> list[Queued]:
        from rq.job import Job
        from rq.registry import ScheduledJobRegistry

        def entry(job: Job, run_after: dt.datetime | None) -> Queued:
            return Queued(task=(job.func_name or "").rsplit(".", 1)[-1], args=list(job.args), run_after=run_after)

        queue = self._queue()
        registry = ScheduledJobRegistry(queue=queue)
        waiting = [entry(job, None) for job in queue.get_jobs()]
        for job_id in registry.get_job_ids():
            job = queue.fetch_job(job_id)
            assert job is not None, f"scheduled job {job_id} has no data"
            waiting.append(entry(job, registry.get_scheduled_time(job)))
        return waiting

    def work(self) -> None:
        from django_tasks_rq import Job

        queue = self._queue()
        worker = _burst_worker_class()([queue], connection=queue.connection, job_class=Job)
        # Burst: move the due scheduled jobs to the queue, run every queued job, return.
        worker.work(burst=True, with_scheduler=True, logging_level="WARNING")

    def flush(self) -> None:
        # Only the test db of this server: other programs may be using the others.
        self.redis.flushdb()


def _burst_worker_class() -> type:
    from rq import SimpleWorker

    class BurstWorker(SimpleWorker):
        """RQ's in-process worker without its remote-control channel (``rq`` shutdown/kill commands).

        That channel is a pub/sub thread that ``work()`` joins for up to a second at its end: a second
        per burst, and a thread left behind, for commands nobody sends a test's worker.
        """

        def subscribe(self) -> None:
            pass

        def unsubscribe(self) -> None:
            pass

    return BurstWorker


def _redis_reachable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {TEST_REDIS_URL} ({exc.__class__.__name__}); start it (scripts/test.sh does)"
    return None


def task_queue_for(name: str) -> Iterator[TaskQueue]:
    """Swap the test's TASKS (and RQ's queue) for the named production backend; empty the queue around the test."""
    if name == "database":
        with override_settings(**DatabaseQueue.settings):
            yield DatabaseQueue()
        return
    problem = _redis_reachable()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem}: CI cannot pass without it")
        pytest.skip(problem)
    with override_settings(**RedisQueue.settings):
        queue = RedisQueue()
        queue.flush()
        try:
            yield queue
        finally:
            queue.flush()
