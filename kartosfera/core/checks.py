"""System checks of the settings shared by every app."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

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
