"""The token service provider's API (token service provider → Kartosfera): wallet tokens (docs/phone-payments.md)."""

from __future__ import annotations

from kartosfera.api.base import KartosferaAPI
from kartosfera.api.models import ApiScope
from kartosfera.tokens.api import router

api = KartosferaAPI(
    scope=ApiScope.TOKEN_SERVICE,
    title="Kartosfera token service API",
    version="1",
    description=(
        "Server-to-server API through which the token service provider asks Kartosfera whether to provision a "
        "wallet token of a card, checks the holder's SMS code and reports the tokens' lifecycle events. "
        "Authenticate with `Authorization: Bearer kfk_…` (scope `token_service`, a key of the group's systems). "
        "The full card number finds the card and is never stored, logged or returned. See docs/phone-payments.md."
    ),
    urls_namespace="token_service_v1",
)
api.add_router("", router)
