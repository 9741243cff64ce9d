"""Idempotent retries, the Warsaw day of the daily limits (boundary and both DST days), the query budget."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from kartosfera.core.models import AuditEvent
from kartosfera.processing.models import Authorization, DailySpend
from kartosfera.processing.services import AuthorizationIdConflict, authorization_decide
from kartosfera.processing.tests.helpers import PROCESSOR, active_card, decide, request_for

pytestmark = pytest.mark.django_db
WARSAW = ZoneInfo("Europe/Warsaw")


def test_a_retry_gets_the_stored_answer_and_no_second_hold():
    tc = active_card()
    request = request_for(tc, amount_minor=5_000)
    first = authorization_decide(actor=PROCESSOR, request=request)
    again = authorization_decide(actor=PROCESSOR, request=request)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.authorization.pk == first.authorization.pk
    assert again.authorization.authorization_code == first.authorization.authorization_code
    assert tc.account.held_minor == 5_000
    assert Authorization.objects.count() == 1
    assert AuditEvent.objects.filter(action="processing.authorization.approved").count() == 1


def test_a_retry_of_a_decline_replays_the_decline():
    tc = active_card(balance_minor=100)
    request = request_for(tc, amount_minor=5_000)
    first = authorization_decide(actor=PROCESSOR, request=request)
    tc.card.account.balance_minor = 1_000_000
    tc.card.account.save(update_fields=["balance_minor"])
    again = authorization_decide(actor=PROCESSOR, request=request)
    assert again.replayed and not again.authorization.approved
    assert again.authorization.response_code == first.authorization.response_code == "51"


@pytest.mark.parametrize("change", [{"amount_minor": 5_001}, {"merchant_name": "Lidl"}, {"pan": "other"}])
def test_the_same_id_with_another_body_is_a_conflict(change):
    tc = active_card()
    other = active_card()
    request = request_for(tc, amount_minor=5_000)
    authorization_decide(actor=PROCESSOR, request=request)
    if change.get("pan") == "other":
        change = {"pan": other.pan, "expiry": other.card.expiry}
    with pytest.raises(AuthorizationIdConflict):
        authorization_decide(actor=PROCESSOR, request=dataclasses.replace(request, **change))
    assert Authorization.objects.count() == 1
    assert tc.account.held_minor == 5_000 and other.account.held_minor == 0


def test_a_retry_of_an_unknown_card_replays():
    tc = active_card()
    request = request_for(tc, pan="4000009999999995")
    first = authorization_decide(actor=PROCESSOR, request=request)
    again = authorization_decide(actor=PROCESSOR, request=request)
    assert again.replayed and again.authorization.pk == first.authorization.pk
    assert again.authorization.decline_reason == "card_unknown"


def _warsaw(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WARSAW)


def _fill_to_the_limit_at(tc, moment: dt.datetime) -> None:
    limit = tc.card.noncash_limit_minor
    assert decide(tc, amount_minor=limit, now=moment).authorization.approved


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # An ordinary night (winter time, UTC+1).
        (_warsaw(2026, 1, 14, 23, 59, 59), _warsaw(2026, 1, 15, 0, 0, 0)),
        # The spring-forward day (29 March 2026: 02:00 → 03:00, a 23-hour day).
        (_warsaw(2026, 3, 28, 23, 59, 59), _warsaw(2026, 3, 29, 0, 0, 0)),
        (_warsaw(2026, 3, 29, 23, 59, 59), _warsaw(2026, 3, 30, 0, 0, 0)),
        # The fall-back day (25 October 2026: 03:00 → 02:00, a 25-hour day).
        (_warsaw(2026, 10, 24, 23, 59, 59), _warsaw(2026, 10, 25, 0, 0, 0)),
        (_warsaw(2026, 10, 25, 23, 59, 59), _warsaw(2026, 10, 26, 0, 0, 0)),
    ],
)
def test_the_daily_limit_resets_at_warsaw_midnight(before, after):
    tc = active_card()
    with time_machine.travel(before, tick=False):
        _fill_to_the_limit_at(tc, before)
        assert not decide(tc, amount_minor=1, now=before).authorization.approved
    with time_machine.travel(after, tick=False):
        assert decide(tc, amount_minor=1, now=after).authorization.approved
    # The non-cash limit's counter (the terminals' own counts payments only: the count limits).
    days = sorted(DailySpend.objects.filter(card=tc.card, group="noncash").values_list("local_date", "amount_minor"))
    assert days == [(before.date(), tc.card.noncash_limit_minor), (after.date(), 1)]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        # Every hour of the 23-hour and the 25-hour day counts on that one day.
        (_warsaw(2026, 3, 29, 0, 0, 0), _warsaw(2026, 3, 29, 23, 59, 59)),
        (_warsaw(2026, 10, 25, 0, 0, 0), _warsaw(2026, 10, 25, 23, 59, 59)),
    ],
)
def test_a_dst_day_is_one_limit_day_from_midnight_to_midnight(start, end):
    tc = active_card()
    limit = tc.card.noncash_limit_minor
    # Aware arithmetic in one zone is wall-clock arithmetic: count the real hours in UTC.
    hours = int((end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds() // 3600) + 1
    assert hours == (23 if start.month == 3 else 25)
    moment = start.astimezone(dt.UTC)
    for _ in range(hours):
        assert decide(tc, amount_minor=1, now=moment).authorization.approved
        moment += dt.timedelta(hours=1)
    assert list(DailySpend.objects.filter(card=tc.card, group="noncash").values_list("local_date", "amount_minor")) == [
        (start.date(), hours)
    ]
    assert not decide(tc, amount_minor=limit - hours + 1, now=end).authorization.approved


def test_an_approval_takes_a_fixed_number_of_queries(django_assert_num_queries):
    tc = active_card()
    decide(tc, amount_minor=100)  # the day's counter row exists from here on
    request = request_for(tc, amount_minor=100)
    # savepoint; reads: card with account (locked), id look-up, counters, the EUR/PLN reference rate;
    # writes: insert, hold, counters, audit; release
    with django_assert_num_queries(10):
        assert authorization_decide(actor=PROCESSOR, request=request).authorization.approved


@pytest.mark.skipif(connection.vendor != "postgresql", reason="round trips are batched on PostgreSQL only")
def test_an_approval_takes_four_round_trips_to_postgresql():
    """The four reads go to the server together, and so do the writes (core/statements.py: batch).

    A statement run outside psycopg's pipeline is one round trip; the statements of one pipeline
    share one.
    """
    tc = active_card()
    decide(tc, amount_minor=100)
    # A contactless tap: its PSD2 counter's card update joins the writes.
    request = request_for(tc, amount_minor=100, channel="pos_contactless")
    trips: list[object] = []

    def record(execute, sql, params, many, context):
        pipeline = connection.connection._pipeline
        if pipeline is None or pipeline not in trips:
            trips.append(pipeline if pipeline is not None else sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert authorization_decide(actor=PROCESSOR, request=request).authorization.approved
    # savepoint, the reads, the writes, release
    assert len(trips) == 4
