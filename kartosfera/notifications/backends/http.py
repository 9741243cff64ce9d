"""Hands each message to a real SMS gateway: a JSON POST over HTTP(S) with basic authentication and/or a client
certificate (mutual TLS, SMS_GATEWAY_CLIENT_CERT).

The contract (docs/sms.md): POST ``{"to", "text", "sender", "reference"}`` (``sender`` the bank's
name where a bank's card or customer is concerned, else the configured group's one); a 2xx
answer means the gateway took the message, and its JSON ``id`` (or
``message_id``) is kept; 5xx, 408, 429, timeouts and connection errors are
retried here with exponential backoff and then reported as retryable; any
other answer is final. Only the standard library is used (urllib.request).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from kartosfera.core.http_json import tls_context
from kartosfera.notifications.backends import BaseSmsBackend, Sms, SmsDeliveryError

logger = logging.getLogger(__name__)

# 408 and 429 are 4xx but mean "not now": trying again later can succeed.
RETRYABLE_STATUS = frozenset({408, 429})
MAX_ANSWER_BYTES = 64 * 1024


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a misconfigured gateway URL: following it would send the credentials elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SmsBackend(BaseSmsBackend):
    def __init__(
        self,
        *,
        url: str,
        username: str = "",
        password: str = "",
        sender: str = "Kartosfera",
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        client_cert: str = "",
        client_key: str = "",
        ca_file: str = "",
        **options: Any,
    ) -> None:
        super().__init__(**options)
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ImproperlyConfigured("SMS_GATEWAY_URL must be an http:// or https:// URL")
        if parts.username or parts.password:
            # Credentials in the URL would end up in logs and error messages.
            raise ImproperlyConfigured("put the gateway credentials in SMS_GATEWAY_USERNAME/PASSWORD, not the URL")
        self.url = url
        self.sender = sender
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff = max(0.0, float(backoff))
        self._authorization = (
            "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode() if username or password else ""
        )
        handlers: list[urllib.request.BaseHandler] = [_RefuseRedirects()]
        if client_cert or client_key or ca_file:
            # Mutual TLS when the gateway asks for it: a client certificate (PEM) and, if not public, its CA.
            context = tls_context(
                client_cert=client_cert, client_key=client_key, ca_file=ca_file, setting="SMS_GATEWAY"
            )
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def send(self, message: Sms) -> str:
        body = json.dumps(
            {
                "to": message.to,
                "text": message.text,
                "sender": message.sender or self.sender,
                "reference": message.reference,
            },
            ensure_ascii=False,
        ).encode()
        for attempt in range(self.retries + 1):
            try:
                return self._post(body, message)
            except SmsDeliveryError as exc:
                if not exc.retryable or attempt == self.retries:
                    raise
                delay = self.backoff * 2**attempt
                logger.warning(
                    "sms gateway attempt failed, retrying",
                    extra={
                        "sms_id": message.reference,
                        "status_code": exc.status_code,
                        "attempt": attempt + 1,
                        "retry_in_seconds": delay,
                        "error": str(exc),
                    },
                )
                time.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _post(self, body: bytes, message: Sms) -> str:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": "Kartosfera-SMS/1",
            # The same key on every try: a gateway that deduplicates never sends
            # twice when an answer was lost to a timeout.
            "Idempotency-Key": f"kartosfera-sms-{message.reference}",
        }
        if self._authorization:
            headers["Authorization"] = self._authorization
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310 (scheme checked)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                answer = response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
            # The answer body is not kept: a gateway may echo the text back.
            raise SmsDeliveryError(
                f"gateway answered HTTP {status}",
                retryable=status >= 500 or status in RETRYABLE_STATUS,
                status_code=status,
            ) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise SmsDeliveryError(f"gateway did not answer within {self.timeout:g} s") from None
            raise SmsDeliveryError(f"cannot reach the gateway: {exc.reason}") from None
        except TimeoutError:
            raise SmsDeliveryError(f"gateway did not answer within {self.timeout:g} s") from None
        except (http.client.HTTPException, OSError) as exc:
            raise SmsDeliveryError(f"connection to the gateway failed: {type(exc).__name__}") from None
        return _gateway_id(answer)


def _gateway_id(answer: bytes) -> str:
    """The gateway's message id from a 2xx JSON answer, or "" when it gives none."""
    try:
        data = json.loads(answer or b"null")
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    for key in ("id", "message_id"):
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)[:100]
    return ""
