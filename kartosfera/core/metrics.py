"""Prometheus metrics: the request timer, the scrape endpoint and the registries the apps fill.

prometheus_client (decision 0019). Each app defines its own metrics in ``<app>/metrics.py`` (imported
by ``CoreConfig.ready``); this module holds what they share:

- ``RequestMetricsMiddleware``, first in both middleware stacks (settings.MIDDLEWARE and
  SERVER_API_MIDDLEWARE): every request's latency by route pattern, method and status class;
- ``audit_action_counted``: a counter that moves with an audit action (a failed sign-in, a lockout),
  counted when the audit row commits, so the metric and the audit log cannot disagree;
- ``scrape_collector_register``: collectors computed at scrape time (the SMS queue's depth);
- ``metrics_view``: ``/internal/metrics``, served only with ``METRICS_TOKEN`` (and from
  ``METRICS_ALLOWED_NETWORKS`` when set); anybody else gets the 404 of any unknown address.

Under gunicorn every worker is its own process: with ``PROMETHEUS_MULTIPROC_DIR`` set (config/gunicorn.py
sets it) the workers write their values to files there and a scrape, whichever worker answers it, sums
them all. Labels never carry a person, a card or an address: routes are patterns, never paths.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from kartosfera.core.middleware import client_ip

# The *_created series (each counter's start time) exist only in one process's mode: the same output in both.
disable_created_metrics()

# The methods a label may name; anything else (a client may send any token) is "other".
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_SECONDS = Histogram(
    "kartosfera_http_request_duration_seconds",
    "Time to answer a request, by route pattern (never the path), method and status class.",
    ["view", "method", "status"],
)


class Children:
    """A labelled metric's children by label values, kept here: ``labels()`` validates and locks on every call,
    about 5 µs, and the request and the authorization call it on every request (the hot path)."""

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self.children.get(values)
        if child is None:
            child = self.children.setdefault(values, self.metric.labels(*values))
        return child


_request_seconds = Children(REQUEST_SECONDS)


def _view_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        # The route's pattern ("api/processor/v1/authorizations/<str:authorization_id>/reversals"): the same
        # for every card and customer, so a label names no one and their number stays bounded.
        return "/" + match.route
    if request.path_info.startswith(settings.STATIC_URL):
        return "static"  # WhiteNoise answered before any URL was resolved
    return "unmatched"


class RequestMetricsMiddleware:
    """Times each request: kartosfera_http_request_duration_seconds{view, method, status}."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in _METHODS else "other"
        _request_seconds(_view_label(request), method, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response


# --- Background tasks (django-tasks' signals, sent by the web processes and the task worker alike) ------

TASKS_ENQUEUED = Counter("kartosfera_tasks_enqueued_total", "Background tasks put on the queue, by task.", ["task"])
TASKS_FINISHED = Counter(
    "kartosfera_tasks_finished_total",
    "Background task runs that ended, by task and status (successful or failed).",
    ["task", "status"],
)
TASK_SECONDS = Histogram(
    "kartosfera_task_duration_seconds",
    "How long a background task ran, by task.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)


def task_enqueued_count(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """django-tasks' ``task_enqueued``: one more task on the queue."""
    TASKS_ENQUEUED.labels(task_result.task.module_path).inc()


def task_finished_count(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """django-tasks' ``task_finished``: one more run ended, how, and how long it took."""
    task = task_result.task.module_path
    TASKS_FINISHED.labels(task, str(task_result.status).lower()).inc()
    if task_result.started_at is not None and task_result.finished_at is not None:
        TASK_SECONDS.labels(task).observe(max(0.0, (task_result.finished_at - task_result.started_at).total_seconds()))


# --- Counters that move with an audit action --------------------------------------------------------

_AUDIT_COUNTERS: dict[str, list[Callable[[], None]]] = {}


def audit_action_counted(action: str, count: Callable[[], None]) -> None:
    """Call ``count`` (a labelled counter's ``inc``) whenever an audit row of ``action`` commits."""
    _AUDIT_COUNTERS.setdefault(action, []).append(count)


def audit_action_count(action: str) -> None:
    """Count the audit row of ``action`` just written, once its transaction commits (core/audit.py calls it)."""
    for count in _AUDIT_COUNTERS.get(action, ()):
        transaction.on_commit(count)


# --- Collectors computed at scrape time -------------------------------------------------------------

_SCRAPE_COLLECTORS: list[Collector] = []


def scrape_collector_register(collector: Collector) -> None:
    """Add a collector that computes its values when the endpoint is scraped (one cheap query at most)."""
    if collector not in _SCRAPE_COLLECTORS:
        _SCRAPE_COLLECTORS.append(collector)


class _ThisProcess(Collector):
    # Without PROMETHEUS_MULTIPROC_DIR (the demo's runserver, the tests) the values live in this process.
    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


def metrics_exposition() -> bytes:
    """Every metric in Prometheus' text format: all the processes' values, then the scrape-time collectors."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in _SCRAPE_COLLECTORS:
        registry.register(collector)
    return generate_latest(registry)


# --- The endpoint -----------------------------------------------------------------------------------


def metrics_access_allowed(request: HttpRequest) -> bool:
    """Whether ``request`` may read the metrics: the bearer token, and an allowed network when any is set."""
    token: str = settings.METRICS_TOKEN
    if not token:
        return False  # metrics are off
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.strip().encode(), token.encode()):
        return False
    networks = settings.METRICS_ALLOWED_NETWORKS
    if not networks:
        return True
    # The client's address as RequestContextMiddleware left it: X-Real-IP only from a trusted proxy.
    try:
        address = ipaddress.ip_address(client_ip(request) or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """``/internal/metrics`` for Prometheus; to anybody else the same 404 as an unknown address."""
    if not metrics_access_allowed(request) or request.method not in ("GET", "HEAD"):
        raise Http404
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)
