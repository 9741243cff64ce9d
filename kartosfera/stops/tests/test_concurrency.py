"""'Stop everything' asked twice at once, and racing BLIK's switch-on, on real PostgreSQL connections."""

from __future__ import annotations

import pytest
from django.db import connection

from kartosfera.blik.models import BlikChange, BlikChannel
from kartosfera.blik.selectors import blik_state
from kartosfera.blik.services import BlikPaymentsStopped, blik_switch_off, blik_switch_on
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer, StopChannel
from kartosfera.stops.services import PaymentsAlreadyStopped, customer_stop
from kartosfera.testing import factories
from kartosfera.testing.concurrency import run_together

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
    pytest.mark.django_db(transaction=True),
]

HOLDER = Actor.system("holder")


def test_two_stops_at_once_record_one_stop():
    # The customer's row lock: the second waits, then finds the stop and is refused.
    customer = factories.customer_factory()

    def stop(channel: str) -> object:
        return customer_stop(actor=HOLDER, customer=customer, channel=channel)

    results = run_together(
        lambda: stop(StopChannel.PORTAL), lambda: stop(StopChannel.APP), expected=(PaymentsAlreadyStopped,)
    )

    assert sum(isinstance(result, PaymentsAlreadyStopped) for result in results) == 1
    assert Customer.objects.get(pk=customer.pk).payments_stopped
    assert AuditEvent.objects.filter(action="stops.payments.stopped", customer_id=customer.pk).count() == 1
    assert BlikChange.objects.filter(service__customer=customer).count() == 1


def test_a_stop_racing_blik_switched_on_in_the_app_leaves_blik_off():
    customer = factories.customer_factory()
    blik_switch_off(actor=HOLDER, customer=customer, channel=BlikChannel.PORTAL)

    run_together(
        lambda: customer_stop(actor=HOLDER, customer=customer, channel=StopChannel.PORTAL),
        lambda: blik_switch_on(actor=HOLDER, customer=customer, channel=BlikChannel.APP),
        expected=(BlikPaymentsStopped,),
    )

    # Whichever ran first, BLIK ends off while everything is stopped.
    assert Customer.objects.get(pk=customer.pk).payments_stopped
    assert not blik_state(customer).enabled
