"""Choosing the task queue: TASKS_BACKEND's names, RQ's settings from REDIS_URL, the check refusing RQ without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from kartosfera.core.checks import tasks_backend_check
from kartosfera.core.tests.test_settings import PRODUCTION, ROOT

RQ_TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'backend': s.TASKS['default']['BACKEND'], 'rq_url': s.RQ_QUEUES['default']['URL'], "
    "'job_class': s.RQ['JOB_CLASS']}))"
)


def _settings_with(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k not in {"DEBUG", "TASKS_BACKEND"}}
    return subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("value", "backend"),
    [
        (None, "django_tasks_db.DatabaseBackend"),  # production's default: the embedded queue
        ("database", "django_tasks_db.DatabaseBackend"),
        ("rq", "django_tasks_rq.RQBackend"),
        # The dotted paths the variable took before the names keep working.
        ("django_tasks_db.DatabaseBackend", "django_tasks_db.DatabaseBackend"),
        ("django_tasks_rq.RQBackend", "django_tasks_rq.RQBackend"),
    ],
)
def test_tasks_backend_takes_a_name_or_a_dotted_path_and_rq_queues_in_redis_url(value, backend):
    env = {**PRODUCTION, "REDIS_URL": "redis://queue.internal:6379/3"}
    if value is not None:
        env["TASKS_BACKEND"] = value
    result = _settings_with(env)
    assert result.returncode == 0, result.stderr
    chosen = json.loads(result.stdout)
    assert chosen == {"backend": backend, "rq_url": "redis://queue.internal:6379/3", "job_class": "django_tasks_rq.Job"}


def test_an_unknown_tasks_backend_name_is_refused_with_the_choices():
    result = _settings_with({**PRODUCTION, "TASKS_BACKEND": "redis"})
    assert result.returncode != 0
    assert "TASKS_BACKEND must be one of database, rq or a dotted backend path" in result.stderr


@override_settings(TASKS=RQ_TASKS, REDIS_URL=None)
def test_the_check_refuses_rq_without_redis_url():
    [error] = tasks_backend_check()
    assert error.id == "core.E001"
    assert "TASKS_BACKEND=rq needs REDIS_URL" in error.msg and "AOF" in (error.hint or "")
    with pytest.raises(SystemCheckError, match=r"core\.E001"):
        call_command("check")


@pytest.mark.parametrize(("tasks", "redis_url"), [(RQ_TASKS, "redis://queue.internal:6379/3"), (DB_TASKS, None)])
def test_the_check_passes_rq_with_redis_url_and_the_database_queue_without(tasks, redis_url):
    with override_settings(TASKS=tasks, REDIS_URL=redis_url):
        assert tasks_backend_check() == []
