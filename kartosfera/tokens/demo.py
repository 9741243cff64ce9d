"""The demo bank's wallet tokens: the first demo customer's first card in three wallets, one suspended by the bank.

Created through the real services (mobile payments switched on, the provider's register and activation
events, the holder's suspension), and only once: each token is found again by its reference.
"""

from __future__ import annotations

from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_mobile_payments_activate
from kartosfera.cards.states import CardStatus
from kartosfera.core.audit import Actor
from kartosfera.tokens.models import Token
from kartosfera.tokens.services import ProviderEvent, token_provider_event, token_register, token_suspend
from kartosfera.tokens.states import DeviceType, Wallet

# (reference, last 4 digits, wallet, device, device type, suspended by the bank)
DEMO_TOKENS = (
    ("DEMO-TKN-0001", "4821", Wallet.GOOGLE_PAY, "Pixel 8", DeviceType.PHONE, False),
    ("DEMO-TKN-0002", "7305", Wallet.APPLE_PAY, "Apple Watch", DeviceType.WATCH, False),
    ("DEMO-TKN-0003", "1964", Wallet.GARMIN_PAY, "Garmin Fenix 7", DeviceType.WATCH, True),
)


def demo_tokens_load(*, actor: Actor, card: Card) -> int:
    """Give ``card`` (active) the demo's tokens it lacks, as ``actor`` (the loader); returns how many it created."""
    if card.status != CardStatus.ACTIVE:
        return 0
    if not card.mobile_payments_enabled:
        card = card_mobile_payments_activate(actor=actor, card=card)
    created = 0
    for reference, last4, wallet, device, device_type, suspended in DEMO_TOKENS:
        if Token.objects.filter(token_reference=reference).exists():
            continue
        token = token_register(
            actor=actor,
            card=card,
            token_reference=reference,
            token_last4=last4,
            wallet=wallet,
            device_name=device,
            device_type=device_type,
        )
        token = token_provider_event(actor=actor, token=token, event=ProviderEvent.ACTIVATED)
        if suspended:
            token_suspend(actor=actor, token=token, reason="Demo: a watch reported lost")
        created += 1
    return created
