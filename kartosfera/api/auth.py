"""Bearer API-key authentication for the server-to-server APIs, one scope per API."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from kartosfera.api.errors import InsufficientScope, InvalidToken
from kartosfera.api.models import ApiKey, ApiScope
from kartosfera.api.services import api_key_authenticate
from kartosfera.core.audit import Actor
from kartosfera.core.middleware import client_cert_sha256

# Scopes of systems that serve every bank of the group (the card processor, the 3DS directory server,
# the token service provider: it tokenizes every bank's cards).
GROUP_ONLY_SCOPES = frozenset({ApiScope.PROCESSOR, ApiScope.ACS, ApiScope.TOKEN_SERVICE})


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer kfk_…``: 401 for a missing, unknown or revoked key, or one without its client
    certificate; 403 for a wrong scope."""

    def __init__(self, *, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest) -> ApiKey | None:
        # Replaces ninja's HttpBearer.__call__, which logs a header of another scheme whole at
        # ERROR when DEBUG is on: "Token kfk_…" or "Basic …" is a credential all the same, and
        # a credential is never logged, in any mode. Another scheme is simply not ours: 401.
        scheme, _, token = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != self.openapi_scheme:
            return None
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:
        # A key bound to client certificates needs the fingerprint the trusted proxy verified: a refusal is the
        # same 401 as a wrong token.
        api_key = api_key_authenticate(token=token.strip(), client_cert_sha256=client_cert_sha256(request))
        if api_key is None:
            raise InvalidToken()
        if not api_key.has_scope(self.scope):
            raise InsufficientScope(self.scope)
        if self.scope in GROUP_ONLY_SCOPES and api_key.bank_id is not None:
            # These serve every bank: api_key_create never gives a bank's key such a scope, and a key that
            # somehow has it is refused rather than let one bank decide other banks' payments.
            raise InsufficientScope(self.scope)
        return api_key


def request_api_key(request: HttpRequest) -> ApiKey:
    """The key the request was authenticated with (set by ninja as ``request.auth``)."""
    api_key = getattr(request, "auth", None)
    if not isinstance(api_key, ApiKey):  # pragma: no cover - every endpoint requires auth
        raise RuntimeError("the endpoint was reached without an authenticated API key")
    return api_key


def request_actor(request: HttpRequest) -> Actor:
    """The audit actor of an API request: the API client, known by its key's prefix."""
    return Actor.for_api_key(request_api_key(request))
