"""One WSGI application, two middleware stacks: the portal's, and a lean one for the server-to-server APIs.

Every browser page needs sessions in two realms, CSRF, the user and its second factor, messages,
the idle timeout, htmx, rate limits, static files and a Content-Security-Policy. A card processor
or a bank's system calling the JSON APIs with a Bearer key needs none of them but the security
headers, and the card core
answers it on every card payment: profiled, the portal's stack was a tenth of an authorization's
time. So requests to the APIs' endpoints (``settings.SERVER_API_PATH``) go through
``settings.SERVER_API_MIDDLEWARE`` instead: the request id and client address for the audit trail,
HSTS, the CSP and the other security headers, the language of error messages, no-store, and the
same handling of unknown URLs. The APIs' reference pages (``…/docs``) are HTML for people and keep the
portal's stack. docs/processing.md, "Speed".

Django builds a handler's middleware chain from ``settings.MIDDLEWARE`` once, when it loads; the
lean handler loads with that setting pointed at the lean list. The tests' client dispatches the
same way (conftest.py), so they run what production runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler


@cache
def _server_api_path() -> re.Pattern[str]:
    return re.compile(settings.SERVER_API_PATH)


def is_server_api(path: str) -> bool:
    """Whether ``path`` is a server-to-server API endpoint (served by the lean middleware stack)."""
    return _server_api_path().match(path) is not None


class ServerApiMiddlewareMixin:
    """A handler whose middleware chain is ``settings.SERVER_API_MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        portal_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.SERVER_API_MIDDLEWARE
        try:
            super().load_middleware(is_async)  # type: ignore[misc]
        finally:
            settings.MIDDLEWARE = portal_middleware


class ServerApiWSGIHandler(ServerApiMiddlewareMixin, WSGIHandler):
    pass


StartResponse = Callable[..., Any]


class Dispatcher:
    """The WSGI application: each request to the handler its path belongs to."""

    def __init__(self, portal: WSGIHandler, server_api: WSGIHandler) -> None:
        self.portal = portal
        self.server_api = server_api

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        handler = self.server_api if is_server_api(environ.get("PATH_INFO", "")) else self.portal
        return handler(environ, start_response)


def get_application() -> Dispatcher:
    """Like ``django.core.wsgi.get_wsgi_application``: set Django up, then build both handlers."""
    import django

    django.setup(set_prefix=False)
    return Dispatcher(WSGIHandler(), ServerApiWSGIHandler())
