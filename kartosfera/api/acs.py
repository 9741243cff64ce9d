"""The ACS's API (directory server → Kartosfera): 3-D Secure authentication requests (docs/3d-secure.md)."""

from __future__ import annotations

from kartosfera.acs.api import router
from kartosfera.api.base import KartosferaAPI
from kartosfera.api.models import ApiScope

api = KartosferaAPI(
    scope=ApiScope.ACS,
    title="Kartosfera ACS API",
    version="2",
    description=(
        "EMV 3-D Secure 2.2: the directory server sends the issuer's access control server (ACS) an AReq and "
        "gets the ARes. Authenticate with `Authorization: Bearer kfk_…` (scope `acs`, a key of the group's "
        "systems). The full card number finds the card and is never stored, logged or returned. "
        "See docs/3d-secure.md."
    ),
    urls_namespace="acs_v2",
)
api.add_router("", router)
