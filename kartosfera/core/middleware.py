from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from kartosfera.core.context import RequestContext, reset_request_context, set_request_context

# A caller-supplied request id is accepted only when it cannot smuggle anything
# into logs (no spaces, quotes or control characters).
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, as rewritten by RequestContextMiddleware behind a proxy."""
    return request.META.get("REMOTE_ADDR") or None


def ratelimit_client_ip(request: HttpRequest) -> str:
    """The address django-ratelimit counts by (RATELIMIT_IP_META_KEY): the client's, or one shared bucket.

    django-ratelimit's own look-up fails (500) on a request without REMOTE_ADDR (WSGI does not require it)
    or with an empty one (a proxy connecting over a Unix socket): such requests are all counted together.
    """
    return client_ip(request) or "0.0.0.0"  # noqa: S104 (a rate-limit bucket, not an address bound to)


_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def client_cert_sha256(request: HttpRequest) -> str | None:
    """The SHA-256 fingerprint of the TLS client certificate the trusted proxy verified, or None.

    Set by RequestContextMiddleware from ``settings.API_CLIENT_CERT_HEADER`` only when the connection comes
    from a proxy in TRUSTED_PROXY_IPS; a request that did not pass the middleware has none (fail closed).
    """
    value = getattr(request, "client_cert_sha256", None)
    return value if isinstance(value, str) else None


def sha256_fingerprint_normalize(value: str) -> str | None:
    """A SHA-256 fingerprint as 64 lower-case hex digits, from hex in either case, with or without colons; else None.

    The whole line `openssl x509 -noout -fingerprint -sha256` prints ("sha256 Fingerprint=AB:CD:…") is taken too.
    """
    digits = (value or "").strip().rpartition("=")[2].replace(":", "").lower()
    return digits if _SHA256_HEX.match(digits) else None


def _client_certificate(request: HttpRequest, *, from_proxy: bool) -> None:
    # The proxy terminates TLS, verifies the client's certificate against the bank's CA and passes its
    # fingerprint in this header, overwriting whatever the client sent. From any other peer the header is a
    # claim anybody can make: it is dropped, so that nothing further down can read it by mistake.
    header = settings.API_CLIENT_CERT_HEADER
    value = request.META.pop(header, None) if header else None
    request.client_cert_sha256 = (  # type: ignore[attr-defined]
        sha256_fingerprint_normalize(value) if from_proxy and isinstance(value, str) else None
    )


def _real_client_address(request: HttpRequest) -> None:
    # Behind the TLS proxy every connection comes from the proxy: rate limits per
    # address and audit IPs would all collapse onto it. The proxy's X-Real-IP is
    # believed only when the connection really comes from a configured proxy
    # (which overwrites the header); from anybody else it could be forged.
    from_proxy = request.META.get("REMOTE_ADDR") in settings.TRUSTED_PROXY_IPS
    _client_certificate(request, from_proxy=from_proxy)
    if not from_proxy:
        return
    forwarded = request.META.get("HTTP_X_REAL_IP", "").strip()
    try:
        request.META["REMOTE_ADDR"] = str(ipaddress.ip_address(forwarded))
    except ValueError:
        return


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID) and records its client IP."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _real_client_address(request)
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _SAFE_REQUEST_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_context(RequestContext(request_id=request_id, ip=client_ip(request)))
        try:
            response = self.get_response(request)
        finally:
            reset_request_context(token)
        response["X-Request-ID"] = request_id
        return response


# Methods no resource of ours supports: TRACE (and Microsoft's TRACK) would echo the request, cookies and
# all, to a script that can make a browser send it (cross-site tracing). Without this, a view that does not
# check its method (Ninja's API root and schema) answers them like a GET.
REFUSED_METHODS = frozenset({"TRACE", "TRACK"})


class RefuseTraceMiddleware:
    """Refuses TRACE and TRACK on every path with 405 Method Not Allowed and its ``Allow`` header [ASVS 5.0 13.4.4].

    The view is asked first, as a safe method (Django's CSRF check counts TRACE as one, so nothing is written):
    a view that restricts its methods answers 405 with the methods it serves; an unknown path stays 404; a view
    that would have answered TRACE like a read (Ninja's schema view did) serves reads, so ``Allow: GET, HEAD``.
    The request is never echoed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in REFUSED_METHODS:
            return self.get_response(request)
        answer = self.get_response(request)
        if answer.status_code in (404, 405):
            return answer
        detail = _("Method %(method)s is not allowed here.") % {"method": request.method}
        refused: HttpResponse
        if request.path.startswith("/api/"):
            refused = JsonResponse({"detail": detail, "code": "method_not_allowed", "errors": []}, status=405)
        else:
            refused = HttpResponse(detail, status=405, content_type="text/plain; charset=utf-8")
        refused["Allow"] = "GET, HEAD"
        return refused


def clear_site_data(response: HttpResponse) -> HttpResponse:
    """Tells the browser to drop what it cached or stored for this site: the answer that ends a session."""
    response["Clear-Site-Data"] = '"cache", "storage"'
    return response


class PrivatePageCacheMiddleware:
    """Private pages, API answers and the internal endpoints' answers are never stored by browsers or proxies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        is_private = (user is not None and user.is_authenticated) or request.path.startswith(("/api/", "/internal/"))
        # A public asset served by a view (a bank's logo) is the same for everybody: it keeps its own caching.
        if getattr(response, "shared_cacheable", False) and request.method in ("GET", "HEAD"):
            return response
        if is_private or request.method == "POST":
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        return response


def permissions_policy_header(policy: dict[str, tuple[str, ...]]) -> str:
    """The Permissions-Policy header for ``policy`` (feature → allowlist; an empty one denies)."""
    return ", ".join(f"{feature}=({' '.join(allowlist)})" for feature, allowlist in policy.items())


def permissions_policy_allow_self(response: HttpResponse, *features: str) -> HttpResponse:
    """Let this one page use ``features`` itself (its own origin, never a frame): the rest of the policy stays.

    The passkey pages need WebAuthn (publickey-credentials-get / -create), which every other page is denied;
    PermissionsPolicyMiddleware leaves a header the view set alone.
    """
    policy = {**settings.PERMISSIONS_POLICY, **dict.fromkeys(features, ("self",))}
    response.headers["Permissions-Policy"] = permissions_policy_header(policy)
    return response


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY: the browser features no page of ours may use."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", permissions_policy_header(settings.PERMISSIONS_POLICY))
        return response


class PolishFirstLocaleMiddleware(LocaleMiddleware):
    """Pages are Polish unless the user chose English with the switch (the language cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, so a
    Polish bank's customer with an English browser would land in English.
    The JSON APIs keep following Accept-Language: a bank's system asks for
    the language of its error messages explicitly.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith("/api/"):
            super().process_request(request)
            return
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
