"""Per-request context (request id, client IP, actor) for logs and the audit log.

Held in contextvars so that services deep below a view, an API endpoint or a
task can record who did something and from where without threading the request
through every call.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str | None = None


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "kartosfera_request_context",
    default=RequestContext(),  # noqa: B039 - frozen, immutable
)


def current_request_context() -> RequestContext:
    """The context of the request being served, or an empty one outside a request."""
    return _current.get()


def set_request_context(ctx: RequestContext) -> contextvars.Token[RequestContext]:
    return _current.set(ctx)


def reset_request_context(token: contextvars.Token[RequestContext]) -> None:
    _current.reset(token)
