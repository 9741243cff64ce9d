"""Sends each command to the token service provider: a JSON POST over HTTP(S) with a bearer key.

The contract (docs/phone-payments.md, "Token service client"): POST
``{"token_reference", "command", "reference"}`` to TOKEN_SERVICE_URL with
``Authorization: Bearer <TOKEN_SERVICE_API_KEY>`` (and a client certificate when TOKEN_SERVICE_CLIENT_CERT is
set) and ``Idempotency-Key: kartosfera-token-<reference>``;
a 2xx answer confirms the command (its JSON ``id``, if any, is kept); 5xx, 408, 429, timeouts and
connection errors are retryable (the outbox tries again later with backoff); any other answer is final.
The request goes through kartosfera/core/http_json.py (redirects refused, no credentials in the URL).
"""

from __future__ import annotations

from typing import Any

from kartosfera.core.http_json import HttpJsonError, outbound_url_check, post_json, tls_context
from kartosfera.tokens.backends import BaseTokenServiceBackend, TokenServiceError, TokenServiceRequest


class TokenServiceBackend(BaseTokenServiceBackend):
    def __init__(
        self,
        *,
        url: str,
        api_key: str = "",
        timeout: float = 5.0,
        client_cert: str = "",
        client_key: str = "",
        ca_file: str = "",
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.url = outbound_url_check(url, setting="TOKEN_SERVICE_URL")
        self.timeout = float(timeout)
        self._authorization = f"Bearer {api_key}" if api_key else ""
        # Mutual TLS when the provider asks for it: its client certificate (PEM) and, if not public, its CA.
        self._context = (
            tls_context(client_cert=client_cert, client_key=client_key, ca_file=ca_file, setting="TOKEN_SERVICE")
            if client_cert or client_key or ca_file
            else None
        )

    def send(self, request: TokenServiceRequest) -> str:
        headers = {
            "User-Agent": "Kartosfera-Tokens/1",
            # The same key on every try: a provider that deduplicates applies the command once
            # when an answer was lost to a timeout.
            "Idempotency-Key": f"kartosfera-token-{request.reference}",
        }
        if self._authorization:
            headers["Authorization"] = self._authorization
        payload = {
            "token_reference": request.token_reference,
            "command": request.command,
            "reference": request.reference,
        }
        try:
            answer = post_json(
                self.url, payload, timeout=self.timeout, headers=headers, answer_required=False, context=self._context
            )
        except HttpJsonError as exc:
            if exc.status is not None:
                raise TokenServiceError(
                    f"token service answered HTTP {exc.status}", retryable=exc.retryable, status_code=exc.status
                ) from None
            raise TokenServiceError(f"cannot reach the token service: {exc}", retryable=exc.retryable) from None
        return _provider_reference(answer)


def _provider_reference(answer: dict[str, Any]) -> str:
    reference = answer.get("id")
    if isinstance(reference, str | int) and not isinstance(reference, bool):
        return str(reference)[:100]
    return ""
