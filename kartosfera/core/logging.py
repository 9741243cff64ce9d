from __future__ import annotations

import logging

from kartosfera.core.context import current_request_context


class RequestContextFilter(logging.Filter):
    """Adds the current request id to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_context().request_id
        return True
