"""The deploy checks of the server-to-server APIs' client certificates (docs/api.md, "Client certificates")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import DatabaseError


@register(Tags.security, deploy=True)
def api_client_certs_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every API key should be bound to a client certificate in production; say which keys a token alone opens.

    The keys are read from the database when it can be read: ``check --deploy`` also runs where it cannot (CI's
    empty in-memory database, a host before ``migrate``), and then only the settings are checked.
    """
    if not settings.API_KEYS_REQUIRE_CLIENT_CERT:
        return [
            Warning(
                "API_KEYS_REQUIRE_CLIENT_CERT is off: an API key bound to no client certificate is taken with its "
                "token alone, a long-lived credential",
                hint="bind every key to its system's certificate (manage.py api_key_client_cert) and set "
                "API_KEYS_REQUIRE_CLIENT_CERT=true; see docs/api.md, Client certificates",
                id="api.W001",
            )
        ]
    messages: list[CheckMessage] = []
    if not settings.TRUSTED_PROXY_IPS:
        messages.append(
            Warning(
                "API_KEYS_REQUIRE_CLIENT_CERT is on but TRUSTED_PROXY_IPS is empty: no request can carry a client "
                "certificate, so every API key is refused",
                hint="list the TLS proxy's addresses in TRUSTED_PROXY_IPS; see docs/operations.md",
                id="api.W002",
            )
        )
    from kartosfera.api.models import ApiKey

    try:
        unbound = sorted(
            prefix
            for prefix, certs in ApiKey.objects.filter(revoked_at__isnull=True).values_list(
                "prefix", "client_cert_sha256"
            )
            if not certs
        )
    except DatabaseError:
        return messages  # no database, or not migrated yet: nothing to say about its keys
    if unbound:
        messages.append(
            Warning(
                f"{len(unbound)} active API key(s) are bound to no client certificate and are refused: "
                f"{', '.join(unbound[:20])}{' …' if len(unbound) > 20 else ''}",
                hint="bind each to its system's certificate (manage.py api_key_client_cert PREFIX --bind "
                "FINGERPRINT) or revoke it (manage.py revoke_api_key PREFIX)",
                id="api.W003",
            )
        )
    return messages
