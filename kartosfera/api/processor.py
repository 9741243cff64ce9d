"""The card processor's API (card processor → Kartosfera): authorization decisions (docs/processing.md)."""

from __future__ import annotations

from kartosfera.api.base import KartosferaAPI
from kartosfera.api.models import ApiScope
from kartosfera.processing.api import advices, clearing
from kartosfera.processing.api import router as authorizations

api = KartosferaAPI(
    scope=ApiScope.PROCESSOR,
    title="Kartosfera processor API",
    version="1",
    description=(
        "Server-to-server API through which the card processor asks Kartosfera to decide card payments. "
        "Authenticate with `Authorization: Bearer kfk_…` (scope `processor`). The full card number is used "
        "to find the card and never stored, logged or returned. See docs/processing.md."
    ),
    urls_namespace="processor_v1",
)
api.add_router("/authorizations", authorizations)
api.add_router("/advices", advices)
api.add_router("/clearing", clearing)
