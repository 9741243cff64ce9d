"""Wallet tokens for the tests and the demo: registered and activated through the real services."""

from __future__ import annotations

import itertools

from kartosfera.cards.models import Card
from kartosfera.core.audit import Actor
from kartosfera.tokens.models import Token
from kartosfera.tokens.services import ProviderEvent, token_provider_event, token_register
from kartosfera.tokens.states import DeviceType, Wallet

PROVIDER = Actor.system("token-service-provider")
_sequence = itertools.count(1)


def token_factory(
    *,
    card: Card,
    wallet: str = Wallet.GOOGLE_PAY,
    device_name: str = "Pixel 8",
    device_type: str = DeviceType.PHONE,
    activate: bool = True,
) -> Token:
    """A token of ``card`` as the provider would create it: requested, then (by default) activated."""
    n = next(_sequence)
    token = token_register(
        actor=PROVIDER,
        card=card,
        token_reference=f"DNITHE{n:010d}",
        token_last4=f"{(4000 + n) % 10000:04d}",
        wallet=wallet,
        device_name=device_name,
        device_type=device_type,
    )
    if activate:
        token = token_provider_event(actor=PROVIDER, token=token, event=ProviderEvent.ACTIVATED)
    return token
