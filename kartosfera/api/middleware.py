"""The APIs' https rule: plain http is refused, not redirected to https (ASVS 4.1.2).

A browser is sent on to https (SECURE_SSL_REDIRECT); a bank's system or the card processor must not
be: its request, Bearer key and body included, already crossed the network in the clear, and a
redirect that the client follows would hide that mistake. So the APIs' lean stack answers plain http
with a ``403 https_required`` in the error format, and the client's developers see it at once. Paths
exempt from the redirect (SECURE_REDIRECT_EXEMPT: the metrics scraped inside the network) are served.

Two middleware: Django's SecurityMiddleware without its redirect, where Django's stands (its headers on
every answer), and the refusal last, so that the refusal gets the CSP and every other header too.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware
from django.utils import translation
from django.utils.translation import gettext as _

from kartosfera.api.errors import error_response


class ApiSecurityMiddleware(SecurityMiddleware):
    """Django's SecurityMiddleware (the same headers) that never redirects: ApiHttpsOnlyMiddleware refuses instead."""

    def process_request(self, request: HttpRequest) -> None:
        return None


class ApiHttpsOnlyMiddleware:
    """Plain http where Django would redirect it: a 403 ``https_required`` (the last middleware of the stack)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Django's own rule of what it would redirect (SECURE_SSL_REDIRECT, SECURE_REDIRECT_EXEMPT).
        self.security = SecurityMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.security.process_request(request) is None:
            return self.get_response(request)
        with translation.override(translation.get_language_from_request(request)):
            return error_response(
                status=403,
                detail=_("The API answers over HTTPS only: send the request to https://."),
                code="https_required",
            )
