"""The bank's BLIK system, which learns when a holder's BLIK is switched off or on: a pluggable client.

``HttpBlikSystem`` posts the newest state as JSON to ``settings.BLIK_SYSTEM_URL`` (with a bearer token
when ``BLIK_SYSTEM_TOKEN`` is set, and a client certificate when ``BLIK_SYSTEM_CLIENT_CERT`` is);
``LogBlikSystem`` stands in for it in the demo and the tests and only logs (no BLIK system runs here).
The contract (docs/phone-payments.md, "BLIK"): POST
``{"customer": <the bank's customer reference>, "banks": [<bank codes>], "enabled": bool, "version": int,
"changed_at": ISO 8601}``; a 2xx answer means the system applied it, or already has a newer version;
its JSON ``reference`` is kept in the log. The version lets the system ignore a late, older update.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from kartosfera.core.http_json import HttpJsonError, outbound_url_check, post_json, tls_context

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlikUpdate:
    customer_reference: str
    bank_codes: tuple[str, ...]
    enabled: bool
    version: int
    changed_at: str


class BlikSystemClient(Protocol):
    def send(self, update: BlikUpdate) -> str:
        """Deliver the update; its reference at the BLIK system. HttpJsonError when it was not taken."""
        ...


class LogBlikSystem:
    """The demo's and the tests' BLIK system: the update is logged, and taken."""

    def send(self, update: BlikUpdate) -> str:
        logger.info(
            "blik update",
            extra={"customer": update.customer_reference, "enabled": update.enabled, "version": update.version},
        )
        return f"log-{update.customer_reference}-{update.version}"


class HttpBlikSystem:
    """``client_cert``/``client_key``: PEM files for mutual TLS; ``ca_file``: the CA of the system's certificate."""

    def __init__(
        self,
        *,
        url: str,
        token: str = "",
        timeout: float = 5.0,
        client_cert: str = "",
        client_key: str = "",
        ca_file: str = "",
    ) -> None:
        self.url = outbound_url_check(url, setting="BLIK_SYSTEM_URL")
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._context = (
            tls_context(client_cert=client_cert, client_key=client_key, ca_file=ca_file, setting="BLIK_SYSTEM")
            if client_cert or client_key or ca_file
            else None
        )

    def send(self, update: BlikUpdate) -> str:
        answer = post_json(
            self.url,
            {
                "customer": update.customer_reference,
                "banks": list(update.bank_codes),
                "enabled": update.enabled,
                "version": update.version,
                "changed_at": update.changed_at,
            },
            timeout=self.timeout,
            headers=self._headers,
            context=self._context,
        )
        reference = answer.get("reference", "")
        if not isinstance(reference, str):
            raise HttpJsonError("answer's reference is not a string", retryable=False)
        return reference[:100]


def blik_system_client() -> BlikSystemClient:
    if settings.BLIK_SYSTEM_BACKEND == "http":
        return HttpBlikSystem(
            url=settings.BLIK_SYSTEM_URL,
            token=settings.BLIK_SYSTEM_TOKEN,
            timeout=settings.BLIK_SYSTEM_TIMEOUT,
            client_cert=settings.BLIK_SYSTEM_CLIENT_CERT,
            client_key=settings.BLIK_SYSTEM_CLIENT_KEY,
            ca_file=settings.BLIK_SYSTEM_CA_FILE,
        )
    return LogBlikSystem()
