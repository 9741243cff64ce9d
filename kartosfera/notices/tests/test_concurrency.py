"""Real concurrent connections on PostgreSQL: racing declines of one card send ONE SMS per control."""

from __future__ import annotations

import pytest
from django.db import connection

from kartosfera.notices.models import DeclineNotice
from kartosfera.notices.tests.helpers import holder_card
from kartosfera.notifications.models import OutboundSms
from kartosfera.processing.codes import Reason
from kartosfera.processing.models import Channel
from kartosfera.processing.services import authorization_decide
from kartosfera.processing.tests.helpers import PROCESSOR, request_for
from kartosfera.testing.concurrency import run_together

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
]


@pytest.mark.django_db(transaction=True)
def test_20_racing_declines_of_one_card_are_all_listed_and_texted_once_per_control():
    """The decision locks the card's row before the notice's look-up, so the rate limit needs no constraint:
    without the lock, several racing declines would each see no SMS in the last hour and each send one."""
    tc = holder_card()
    tc.card.contactless_enabled = False
    tc.card.save(update_fields=["contactless_enabled"])
    requests = [request_for(tc, channel=Channel.POS_CONTACTLESS) for _ in range(14)]
    requests += [request_for(tc, channel=Channel.WALLET) for _ in range(6)]

    decisions = run_together(*(lambda r=r: authorization_decide(actor=PROCESSOR, request=r) for r in requests))

    assert all(not d.authorization.approved for d in decisions)
    assert DeclineNotice.objects.filter(control=Reason.CONTACTLESS_DISABLED).count() == 14
    assert DeclineNotice.objects.filter(control=Reason.MOBILE_PAYMENTS_DISABLED).count() == 6
    sent = DeclineNotice.objects.filter(sms__isnull=False)
    assert sorted(sent.values_list("control", flat=True)) == [
        Reason.CONTACTLESS_DISABLED,
        Reason.MOBILE_PAYMENTS_DISABLED,
    ]
    assert OutboundSms.objects.filter(purpose="notices.decline").count() == 2


@pytest.mark.django_db(transaction=True)
def test_racing_retries_of_one_declined_authorization_make_one_notice():
    tc = holder_card()
    request = request_for(tc, channel=Channel.WALLET)
    decisions = run_together(*(lambda: authorization_decide(actor=PROCESSOR, request=request) for _ in range(10)))
    assert sum(not d.replayed for d in decisions) == 1
    assert DeclineNotice.objects.count() == 1 and OutboundSms.objects.count() == 1
