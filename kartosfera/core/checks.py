"""System checks of the core: the metrics endpoint is on in production (docs/operations.md, "Metrics")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


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
