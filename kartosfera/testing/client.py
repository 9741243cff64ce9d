"""The test client serves requests as config/wsgi.py does: the JSON APIs through their lean middleware stack.

Django's ``Client`` always builds a ``ClientHandler`` over ``settings.MIDDLEWARE``; the root
conftest.py swaps in ``DispatchingClientHandler``, so every test (and a test of an API above all)
runs the middleware production runs for its path (kartosfera/core/wsgi.py).
"""

from __future__ import annotations

from typing import Any

from django.test import client as django_client

from kartosfera.core.wsgi import ServerApiMiddlewareMixin, is_server_api

PortalClientHandler = django_client.ClientHandler


class ServerApiClientHandler(ServerApiMiddlewareMixin, PortalClientHandler):
    pass


class DispatchingClientHandler:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.portal = PortalClientHandler(*args, **kwargs)
        self.server_api = ServerApiClientHandler(*args, **kwargs)

    def __call__(self, environ: dict[str, Any]) -> Any:
        handler = self.server_api if is_server_api(environ.get("PATH_INFO", "")) else self.portal
        return handler(environ)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.portal, name)


def install() -> None:
    django_client.ClientHandler = DispatchingClientHandler  # type: ignore[misc,assignment]
