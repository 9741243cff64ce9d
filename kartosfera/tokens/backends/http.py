"""Sends each command to the token service provider: a JSON POST over HTTP(S) with a bearer key.

The contract (docs/phone-payments.md, "Token service client"): POST
``{"token_reference", "command", "reference"}`` to TOKEN_SERVICE_URL with
``Authorization: Bearer <TOKEN_SERVICE_API_KEY>`` and ``Idempotency-Key: kartosfera-token-<reference>``;
a 2xx answer confirms the command (its JSON ``id``, if any, is kept); 5xx, 408, 429, timeouts and
connection errors are retryable (the outbox tries again later with backoff); any other answer is final.
Only the standard library is used (urllib.request), as the SMS gateway's client.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from kartosfera.tokens.backends import BaseTokenServiceBackend, TokenServiceError, TokenServiceRequest

RETRYABLE_STATUS = frozenset({408, 429})
MAX_ANSWER_BYTES = 64 * 1024


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a misconfigured URL: following it would send the key elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class TokenServiceBackend(BaseTokenServiceBackend):
    def __init__(self, *, url: str, api_key: str = "", timeout: float = 5.0, **options: Any) -> None:
        super().__init__(**options)
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ImproperlyConfigured("TOKEN_SERVICE_URL must be an http:// or https:// URL")
        if parts.username or parts.password:
            raise ImproperlyConfigured("put the token service's key in TOKEN_SERVICE_API_KEY, not the URL")
        self.url = url
        self.timeout = float(timeout)
        self._authorization = f"Bearer {api_key}" if api_key else ""
        self._opener = urllib.request.build_opener(_RefuseRedirects)

    def send(self, request: TokenServiceRequest) -> str:
        body = json.dumps(
            {"token_reference": request.token_reference, "command": request.command, "reference": request.reference}
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": "Kartosfera-Tokens/1",
            # The same key on every try: a provider that deduplicates applies the command once
            # when an answer was lost to a timeout.
            "Idempotency-Key": f"kartosfera-token-{request.reference}",
        }
        if self._authorization:
            headers["Authorization"] = self._authorization
        http_request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310 (scheme checked)
        try:
            with self._opener.open(http_request, timeout=self.timeout) as response:
                answer = response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
            raise TokenServiceError(
                f"token service answered HTTP {status}",
                retryable=status >= 500 or status in RETRYABLE_STATUS,
                status_code=status,
            ) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise TokenServiceError(f"token service did not answer within {self.timeout:g} s") from None
            raise TokenServiceError(f"cannot reach the token service: {exc.reason}") from None
        except TimeoutError:
            raise TokenServiceError(f"token service did not answer within {self.timeout:g} s") from None
        except (http.client.HTTPException, OSError) as exc:
            raise TokenServiceError(f"connection to the token service failed: {type(exc).__name__}") from None
        return _provider_reference(answer)


def _provider_reference(answer: bytes) -> str:
    try:
        data = json.loads(answer or b"null")
    except ValueError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("id"), str | int) and not isinstance(data.get("id"), bool):
        return str(data["id"])[:100]
    return ""
