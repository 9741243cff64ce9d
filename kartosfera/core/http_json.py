"""A JSON POST to one of the bank's systems, with the project's rules for outbound HTTP.

The BLIK system (kartosfera/blik/client.py) and the token service provider (kartosfera/tokens/backends/http.py)
are called this way: the URL comes from settings, must be
http(s) with no credentials in it (they would reach logs and error messages); redirects are refused
(a redirect is a misconfigured URL and would carry the credentials elsewhere); the answer is read up
to 64 KiB and must be a JSON object. Retrying is the caller's: an outbox task retries later with
backoff, so a slow system never holds a holder's page. Mutual TLS: ``tls_context`` builds the context with the
client certificate the system asks for (and its own CA when it is not in the system's store).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

MAX_ANSWER_BYTES = 64 * 1024
# 408 and 429 are 4xx but mean "not now": trying again later can succeed.
RETRYABLE_STATUS = frozenset({408, 429})


class HttpJsonError(Exception):
    """The system did not take the request; ``retryable`` when trying again later can succeed."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def outbound_url_check(url: str, *, setting: str) -> str:
    """``url`` if it is an http(s) URL with a host and no credentials; else ImproperlyConfigured naming ``setting``."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(f"{setting} must be an http:// or https:// URL")
    if parts.username or parts.password:
        raise ImproperlyConfigured(f"put the credentials for {setting} in their own settings, not in the URL")
    return url


def tls_context(*, client_cert: str = "", client_key: str = "", ca_file: str = "", setting: str) -> ssl.SSLContext:
    """The TLS context of an outbound client: the system's trust store, or ``ca_file`` alone when given; with the
    client certificate ``client_cert`` (PEM; its key in it or in ``client_key``) for mutual TLS when given.

    Certificate and name checks stay on (ssl.create_default_context). A file that cannot be read or a key that
    does not match the certificate is ImproperlyConfigured naming ``setting`` (e.g. ``SMS_GATEWAY``), at start-up.
    """
    if client_key and not client_cert:
        raise ImproperlyConfigured(f"{setting}_CLIENT_KEY is set without {setting}_CLIENT_CERT")
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ImproperlyConfigured(f"{setting}_CA_FILE cannot be loaded: {type(exc).__name__}") from None
    if client_cert:
        try:
            context.load_cert_chain(client_cert, client_key or None)
        except (OSError, ssl.SSLError) as exc:
            # Never the exception's text: it may quote the key file's path and OpenSSL's reasons, nothing more,
            # but a password-protected key would prompt on a terminal; say what to check instead.
            raise ImproperlyConfigured(
                f"{setting}_CLIENT_CERT/{setting}_CLIENT_KEY cannot be loaded ({type(exc).__name__}): "
                "PEM files, readable, the key unencrypted and matching the certificate"
            ) from None
    return context


def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    answer_required: bool = True,
    context: ssl.SSLContext | None = None,
) -> dict[str, Any]:
    """POST ``payload`` as JSON and return the JSON object answered; HttpJsonError when it was not taken.

    ``answer_required=False``: a 2xx answer is enough; its body is read if it is a JSON object, else ``{}``.
    ``context``: the TLS context (``tls_context``: a client certificate, a CA); None, urllib's default.
    """
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked by outbound_url_check)
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json", **(headers or {})},
        method="POST",
    )
    handlers: list[urllib.request.BaseHandler] = [_RefuseRedirects()]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # its answer's connection, which nothing else reads
        retryable = exc.code >= 500 or exc.code in RETRYABLE_STATUS
        raise HttpJsonError(f"HTTP {exc.code}", retryable=retryable, status=exc.code) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise HttpJsonError(f"unreachable: {type(exc).__name__}", retryable=True) from None
    if len(body) > MAX_ANSWER_BYTES:
        if not answer_required:
            return {}
        raise HttpJsonError("answer too long", retryable=False)
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        if not answer_required:
            return {}
        raise HttpJsonError("answer is not JSON", retryable=False) from None
    if not isinstance(answer, dict):
        if not answer_required:
            return {}
        raise HttpJsonError("answer is not a JSON object", retryable=False)
    return answer
