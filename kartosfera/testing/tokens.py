"""Wallet tokens for the tests and the demo: registered and activated through the real services."""

from __future__ import annotations

import itertools

from kartosfera.cards.models import Card
from kartosfera.core.audit import Actor
from kartosfera.devices.models import AppDevice
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
    app_device: AppDevice | None = None,
) -> Token:
    """A token of ``card`` as the provider would create it: requested, then (by default) activated.

    A BS Pay token lives on a BS Pay device: ``app_device``, else a new one activated for the card's holder.
    """
    n = next(_sequence)
    if wallet == Wallet.BS_PAY and app_device is None:
        from kartosfera.devices.tests.helpers import device_for

        app_device = device_for(card.customer, device_name)
    token = token_register(
        actor=PROVIDER,
        card=card,
        token_reference=f"DNITHE{n:010d}",
        token_last4=f"{(4000 + n) % 10000:04d}",
        wallet=wallet,
        device_name=device_name,
        device_type=device_type,
        app_device=app_device,
    )
    if activate:
        token = token_provider_event(actor=PROVIDER, token=token, event=ProviderEvent.ACTIVATED)
    return token
