from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def token_service_backend_check(**kwargs: Any) -> list[CheckMessage]:
    """Build the token service client once, so that a bad URL stops `check --deploy`, not the first command."""
    from kartosfera.tokens.backends import get_token_service_backend

    try:
        get_token_service_backend()
    except (ImproperlyConfigured, ImportError, TypeError) as exc:
        return [
            Error(
                f"the token service backend cannot be built: {exc}", hint="see docs/phone-payments.md", id="tokens.E001"
            )
        ]
    return []
