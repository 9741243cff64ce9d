"""Token service provider clients, chosen by settings.TOKEN_SERVICE_BACKEND like the SMS backends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class TokenServiceRequest:
    """One command for the provider: what to do with which of its tokens."""

    token_reference: str
    command: str  # a TokenCommand value: suspend, resume, delete
    reference: str  # our command's id: the provider's idempotency key


class TokenServiceError(Exception):
    """The provider did not confirm the command; ``retryable`` says whether trying again may help.

    The message is stored in TokenServiceCommand.last_error, logged and audited: never credentials.
    """

    def __init__(self, message: str, *, retryable: bool = True, status_code: int | None = None) -> None:
        self.retryable = retryable
        self.status_code = status_code
        super().__init__(message)


class BaseTokenServiceBackend:
    def __init__(self, **options: Any) -> None:
        self.options = options

    def send(self, request: TokenServiceRequest) -> str:
        """Have the provider carry out the command; return its confirmation reference (or "")."""
        raise NotImplementedError


def get_token_service_backend() -> BaseTokenServiceBackend:
    backend_class = import_string(settings.TOKEN_SERVICE_BACKEND)
    return backend_class(**getattr(settings, "TOKEN_SERVICE_BACKEND_OPTIONS", {}))
