from __future__ import annotations

import datetime as dt
import logging

from pythonjsonlogger.json import JsonFormatter

from kartosfera.core.context import current_request_context


class RequestContextFilter(logging.Filter):
    """Adds the current request's id and client address to every log record.

    Django logs a 4xx or 5xx answer (``django.request``) after the middleware has returned, when the request's
    context is already reset: such a record carries the request itself, and the id and address are read from it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request_context()
        request = getattr(record, "request", None)
        record.request_id = context.request_id or getattr(request, "request_id", "")
        meta = getattr(request, "META", None)
        record.client_ip = context.ip or (meta.get("REMOTE_ADDR") if isinstance(meta, dict) else None)
        return True


class UtcJsonFormatter(JsonFormatter):
    """JSON lines whose ``time`` is ISO 8601 in UTC with its offset, whatever the process's time zone.

    Django sets the process's zone to TIME_ZONE (Europe/Warsaw): the default ``asctime`` would be Warsaw's
    wall-clock time without an offset, ambiguous in the hour the clocks go back and hard to join with other logs.
    """

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds")
