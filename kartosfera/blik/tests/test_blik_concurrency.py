"""BLIK switched at the same moment from two places, on real PostgreSQL connections."""

from __future__ import annotations

import pytest
from django.db import connection

from kartosfera.blik.models import BlikChange, BlikChannel, BlikService
from kartosfera.blik.services import blik_switch_off, blik_switch_on
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.testing import factories
from kartosfera.testing.concurrency import run_together

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
    pytest.mark.django_db(transaction=True),
]


def test_two_first_switches_off_at_once_record_one_change():
    # The first switch creates the service's row: both find or create the same one, and the second waits.
    customer = factories.customer_factory()

    def off(channel: str) -> object:
        return blik_switch_off(actor=Actor.system("test"), customer=customer, channel=channel)

    run_together(lambda: off(BlikChannel.PORTAL), lambda: off(BlikChannel.BACK_OFFICE))

    service = BlikService.objects.get(customer=customer)
    assert (service.enabled, service.version) == (False, 1)
    assert BlikChange.objects.filter(service=service).count() == 1
    assert AuditEvent.objects.filter(action="blik.service.switched_off", customer_id=customer.pk).count() == 1


def test_off_and_on_at_once_leave_the_newest_change_in_force_and_versions_in_order():
    customer = factories.customer_factory()
    blik_switch_off(actor=Actor.system("test"), customer=customer, channel=BlikChannel.PORTAL)

    run_together(
        lambda: blik_switch_on(actor=Actor.system("app"), customer=customer, channel=BlikChannel.APP),
        lambda: blik_switch_off(actor=Actor.system("bank"), customer=customer, channel=BlikChannel.BACK_OFFICE),
    )

    service = BlikService.objects.get(customer=customer)
    changes = list(BlikChange.objects.filter(service=service).order_by("version"))
    assert [change.version for change in changes] == list(range(1, service.version + 1))
    assert changes[-1].enabled == service.enabled
