"""System checks of the settings shared by every app: the task queue, the metrics endpoint in production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

RQ_BACKEND = "django_tasks_rq.RQBackend"


@register()
def tasks_backend_check(**kwargs: Any) -> list[CheckMessage]:
    """Refuse the RQ task queue without REDIS_URL: it would queue into whatever Redis runs on this machine."""
    uses_rq = any(each.get("BACKEND") == RQ_BACKEND for each in settings.TASKS.values())
    if uses_rq and not settings.REDIS_URL:
        return [
            Error(
                "TASKS_BACKEND=rq needs REDIS_URL: the task queue would otherwise live in a Redis nobody configured",
                hint="set REDIS_URL to the Redis the workers share (with AOF persistence), or TASKS_BACKEND=database; "
                "see docs/operations.md",
                id="core.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_metrics_on(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Without METRICS_TOKEN nobody can scrape the metrics the alerts depend on."""
    if settings.METRICS_TOKEN:
        return []
    return [
        Warning(
            "METRICS_TOKEN is not set: /internal/metrics is off and Prometheus cannot scrape it",
            hint="set METRICS_TOKEN (at least 32 characters); see docs/operations.md, Metrics",
            id="core.W001",
        )
    ]
