"""Real concurrent connections on PostgreSQL: a card PIN change and a 3DS PIN change never both make the PINs equal."""

from __future__ import annotations

import pytest
from django.db import connection

from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_activate, card_pin_change
from kartosfera.cards.pin import pin_matches, pin_verification_values, threeds_pin_verification_values
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError
from kartosfera.secure3d import services
from kartosfera.testing.concurrency import run_together
from kartosfera.testing.factories import card_factory, customer_factory

SYSTEM = Actor.system("tests")

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
]


@pytest.mark.django_db(transaction=True)
def test_a_card_pin_change_racing_a_3ds_pin_change_to_the_same_pin_never_both_pass():
    for round_number in range(8):
        customer = customer_factory()
        card = card_activate(actor=SYSTEM, card=card_factory(customer=customer))
        pin = f"{5830 + round_number:04d}"
        # Both changes were asked for while the PINs still differed; they are confirmed at the same moment.
        threeds_values = services.threeds_pin_values(pin, customer=customer)
        card_values = {
            "pvvs": pin_verification_values(pin, card=card),
            "threeds_pvvs": threeds_pin_verification_values(pin, customer=customer),
        }
        outcomes = run_together(
            lambda c=customer, v=threeds_values: services.threeds_pin_set(actor=SYSTEM, customer=c, **v),
            lambda c=card, v=card_values: card_pin_change(actor=SYSTEM, card=c, **v),
            expected=(DomainError,),
        )
        refused = [outcome for outcome in outcomes if isinstance(outcome, DomainError)]
        assert len(refused) == 1, outcomes
        assert refused[0].code == "pin_same_as_other_pin"
        threeds_set = services.threeds_profile_get(customer=customer).has_pin
        card_set = pin_matches(pin, card=Card.objects.get(pk=card.pk))
        assert threeds_set != card_set
