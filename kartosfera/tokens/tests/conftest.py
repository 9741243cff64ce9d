from __future__ import annotations

import pytest

from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_activate, card_mobile_payments_activate
from kartosfera.core.audit import Actor

BANK = Actor.system("tests")


@pytest.fixture
def payable_card(card) -> Card:
    """Anna's debit card, active, with mobile payments on: its tokens can pay."""
    card = card_activate(actor=BANK, card=card)
    return card_mobile_payments_activate(actor=BANK, card=card)
