"""Random sequences of authorizations, reversals, increments, advices and expiries keep the card core's invariants.

- the account's held amount = the sum of its pending authorizations' holds;
- each day's counter = its definition: the holds still pending that count on that day and limit;
- the available funds go below zero only through an advice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kartosfera.processing.adjustments import authorization_increment, authorization_reverse, hold_expire_due
from kartosfera.processing.advices import advice_record
from kartosfera.processing.models import CHANNEL_LIMITS, Authorization, AuthorizationStatus, Channel, DailySpend
from kartosfera.processing.tests.helpers import PIN, PROCESSOR, active_card, decide, request_for

pytestmark = pytest.mark.django_db

CHANNELS = [Channel.POS_CHIP, Channel.POS_CONTACTLESS, Channel.ATM, Channel.ECOMMERCE]
AMOUNTS = st.integers(min_value=1, max_value=120_000)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("authorize"), st.sampled_from(CHANNELS), AMOUNTS, st.integers(0, 2), st.booleans()),
        st.tuples(st.just("reverse"), st.integers(0, 50), st.none() | AMOUNTS),
        st.tuples(st.just("increment"), st.integers(0, 50), AMOUNTS),
        st.tuples(st.just("advice"), AMOUNTS),
        st.tuples(st.just("expire"), st.integers(0, 12)),
    ),
    min_size=1,
    max_size=25,
)


def _check_invariants(tc, *, advised: bool) -> None:
    account = tc.account
    pending = Authorization.objects.filter(account=account, status=AuthorizationStatus.PENDING)
    assert account.held_minor == (pending.aggregate(s=Sum("held_minor"))["s"] or 0)
    expected: dict[tuple[dt.date, str], int] = defaultdict(int)
    for authorization in pending:
        for group in CHANNEL_LIMITS[authorization.channel]:
            expected[(authorization.local_date, group)] += authorization.held_minor
    stored = {(row.local_date, row.group): row.amount_minor for row in DailySpend.objects.filter(card=tc.card)}
    assert {key: value for key, value in stored.items() if value} == {k: v for k, v in expected.items() if v}
    if not advised:
        assert account.available_minor >= 0


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
def test_random_operations_keep_the_invariants(operations):
    tc = active_card(balance_minor=400_000, internet_limit_default_minor=300_000)
    start = timezone.now()
    ids: list[str] = []
    advised = False
    for step, operation in enumerate(operations):
        now = start + dt.timedelta(hours=step)
        kind = operation[0]
        if kind == "authorize":
            _, channel, amount, days_later, partial = operation
            extra = {"pin_entered": True, "pin": PIN} if channel == Channel.ATM else {}
            if channel == Channel.ECOMMERCE:
                extra = {"eci": "05", "authentication_value": "AAAB"}
            decision = decide(
                tc,
                channel=channel,
                amount_minor=amount,
                partial_supported=partial,
                now=now + dt.timedelta(days=days_later),
                **extra,
            )
            ids.append(decision.authorization.processor_id)
        elif kind == "reverse" and ids:
            _, index, amount = operation
            authorization_reverse(
                actor=PROCESSOR,
                authorization_id=ids[index % len(ids)],
                reversal_id=f"rev-{tc.card.pk}-{step}",
                amount_minor=amount,
            )
        elif kind == "increment" and ids:
            _, index, amount = operation
            authorization_increment(
                actor=PROCESSOR,
                authorization_id=ids[index % len(ids)],
                increment_id=f"inc-{tc.card.pk}-{step}",
                amount_minor=amount,
                now=now,
            )
        elif kind == "advice":
            advice_record(
                actor=PROCESSOR, request=request_for(tc, amount_minor=operation[1]), approved=True, response_code="00"
            )
            advised = True
        elif kind == "expire":
            hold_expire_due(now=now + dt.timedelta(days=operation[1]))
        _check_invariants(tc, advised=advised)
