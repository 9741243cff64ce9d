"""Fixtures of the back-office tests."""

from __future__ import annotations

import pytest

from kartosfera.backoffice.tests.helpers import KNOWN_PAN, SYSTEM
from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_activate
from kartosfera.testing import factories


@pytest.fixture
def active_card(cardholder, debit_product) -> Card:
    """Anna's active debit card with a known full number."""
    card = factories.card_factory(customer=cardholder.customer, product=debit_product, pan=KNOWN_PAN)
    return card_activate(actor=SYSTEM, card=card)
