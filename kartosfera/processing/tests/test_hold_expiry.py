"""Hold expiry: a pending hold past its lifetime drops out of the funds and the day's limits; the job is idempotent."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from kartosfera.core.models import AuditEvent
from kartosfera.processing.adjustments import hold_expire_due
from kartosfera.processing.models import AuthorizationStatus, DailySpend
from kartosfera.processing.tests.helpers import active_card, decide

pytestmark = pytest.mark.django_db


def test_an_expired_hold_drops_out_of_the_funds_and_the_limits():
    tc = active_card()
    now = timezone.now()
    shop = decide(tc, amount_minor=10_000, mcc="5411", now=now).authorization  # 5 days
    hotel = decide(tc, amount_minor=20_000, mcc="7011", now=now).authorization  # 31 days (Visa)
    assert hold_expire_due(now=now + dt.timedelta(days=5) - dt.timedelta(seconds=1)) == 0
    assert hold_expire_due(now=now + dt.timedelta(days=5)) == 1
    shop.refresh_from_db()
    hotel.refresh_from_db()
    assert (shop.status, shop.held_minor) == (AuthorizationStatus.EXPIRED, 0)
    assert (hotel.status, hotel.held_minor) == (AuthorizationStatus.PENDING, 20_000)
    assert tc.account.held_minor == 20_000
    assert DailySpend.objects.get(card=tc.card, group="noncash").amount_minor == 20_000
    event = AuditEvent.objects.get(action="processing.authorization.expired")
    assert event.after["released_minor"] == 10_000
    # Idempotent: nothing more to expire until the hotel's hold runs out.
    assert hold_expire_due(now=now + dt.timedelta(days=6)) == 0
    assert hold_expire_due(now=now + dt.timedelta(days=31)) == 1
    assert tc.account.held_minor == 0


def test_the_command_expires_in_batches():
    tc = active_card()
    past = timezone.now() - dt.timedelta(days=6)
    for _ in range(5):
        decide(tc, amount_minor=1_000, now=past)
    assert hold_expire_due(batch_size=2) == 5
    out = io.StringIO()
    call_command("expire_holds", stdout=out)
    assert out.getvalue().strip() == "Expired 0 card hold(s)."
    assert tc.account.held_minor == 0
