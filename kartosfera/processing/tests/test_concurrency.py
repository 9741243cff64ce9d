"""Real concurrent connections on PostgreSQL: the card and account locks make racing authorizations exact."""

from __future__ import annotations

import pytest
from django.db import connection

from kartosfera.processing.models import Authorization, AuthorizationStatus, DailySpend
from kartosfera.processing.services import authorization_decide
from kartosfera.processing.tests.helpers import PROCESSOR, active_card, request_for
from kartosfera.testing.concurrency import run_together

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
]

THREADS = 25
PER_THREAD = 8  # 200 authorizations on 25 connections (PostgreSQL allows 100 for every helper at once)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("balance", "binding"), [(300_000, "funds"), (2_000_000, "limit")])
def test_200_racing_authorizations_approve_exactly_what_the_limit_and_funds_allow(balance, binding):
    tc = active_card(balance_minor=balance)
    limit = tc.card.noncash_limit_minor  # 500 000
    requests = [
        [request_for(tc, amount_minor=1_000 + (thread * PER_THREAD + i) * 37 % 4_000) for i in range(PER_THREAD)]
        for thread in range(THREADS)
    ]

    def worker(batch):
        return lambda: [authorization_decide(actor=PROCESSOR, request=request) for request in batch]

    run_together(*(worker(batch) for batch in requests))

    rows = list(Authorization.objects.filter(card=tc.card).order_by("pk"))
    assert len(rows) == THREADS * PER_THREAD
    # The locks serialize the decisions, and the ids are given in that order: replaying them one by one
    # must give the same answers, so every approval fitted and every decline did not.
    used = 0
    for row in rows:
        fits = used + row.amount_minor <= min(limit, balance)
        assert row.approved == fits, (row.processor_id, used, row.amount_minor)
        if fits:
            used += row.amount_minor
        else:
            expected = "insufficient_funds" if binding == "funds" else "noncash_limit_exceeded"
            assert row.decline_reason == expected
    account = tc.account
    pending = Authorization.objects.filter(account=account, status=AuthorizationStatus.PENDING)
    assert account.held_minor == used == sum(a.held_minor for a in pending)
    assert used <= min(limit, balance) and min(limit, balance) - used < 5_000  # the room ran out, not the requests
    assert DailySpend.objects.get(card=tc.card, group="noncash").amount_minor == used
    assert account.available_minor >= 0


@pytest.mark.django_db(transaction=True)
def test_50_racing_retries_of_one_authorization_make_one_hold():
    tc = active_card()
    request = request_for(tc, amount_minor=12_345)
    decisions = run_together(*(lambda: authorization_decide(actor=PROCESSOR, request=request) for _ in range(50)))
    assert len({d.authorization.pk for d in decisions}) == 1
    assert sum(not d.replayed for d in decisions) == 1
    assert len({d.authorization.authorization_code for d in decisions}) == 1
    assert Authorization.objects.count() == 1
    assert tc.account.held_minor == 12_345
    assert DailySpend.objects.get(card=tc.card, group="noncash").amount_minor == 12_345


@pytest.mark.django_db(transaction=True)
def test_racing_retries_for_an_unknown_card_store_one_decline():
    tc = active_card()
    request = request_for(tc, pan="4000009999999995")
    decisions = run_together(*(lambda: authorization_decide(actor=PROCESSOR, request=request) for _ in range(20)))
    assert len({d.authorization.pk for d in decisions}) == 1
    assert Authorization.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_reversals_increments_and_authorizations_racing_on_one_card_keep_the_books_exact():
    from kartosfera.processing.adjustments import authorization_increment, authorization_reverse

    tc = active_card(balance_minor=150_000)
    originals = [decide_now(tc, 5_000) for _ in range(10)]
    operations = []
    for i, authorization in enumerate(originals):
        pid = authorization.processor_id
        operations.append(
            lambda pid=pid, i=i: authorization_reverse(
                actor=PROCESSOR, authorization_id=pid, reversal_id=f"race-rev-{i}", amount_minor=2_000
            )
        )
        operations.append(
            lambda pid=pid, i=i: authorization_increment(
                actor=PROCESSOR, authorization_id=pid, increment_id=f"race-inc-{i}", amount_minor=3_000
            )
        )
        operations.append(lambda: authorization_decide(actor=PROCESSOR, request=request_for(tc, amount_minor=9_000)))
    run_together(*operations)

    account = tc.account
    pending = Authorization.objects.filter(account=account, status=AuthorizationStatus.PENDING)
    assert account.held_minor == sum(a.held_minor for a in pending)
    assert DailySpend.objects.get(card=tc.card, group="noncash").amount_minor == account.held_minor
    assert account.available_minor >= 0
    for authorization in originals:
        authorization.refresh_from_db()
        # Each original: 5 000 - 2 000 reversed + 3 000 if its increment was approved.
        adjustments = {a.kind: a for a in authorization.adjustments.all()}
        added = adjustments["increment"].amount_minor
        assert authorization.held_minor == 5_000 - 2_000 + added


def decide_now(tc, amount: int) -> Authorization:
    return authorization_decide(actor=PROCESSOR, request=request_for(tc, amount_minor=amount)).authorization


@pytest.mark.django_db(transaction=True)
def test_racing_payments_approve_exactly_the_count_limit():
    import dataclasses

    from kartosfera.cards.controls_services import card_controls_change, control_settings_of
    from kartosfera.testing.factories import SYSTEM

    tc = active_card()
    settings = control_settings_of(tc.card)
    counts = {**settings.count_limits, "pos_count": 7}
    card_controls_change(actor=SYSTEM, card=tc.card, settings=dataclasses.replace(settings, count_limits=counts))
    requests = [[request_for(tc, amount_minor=1_000) for _ in range(4)] for _ in range(10)]

    def worker(batch):
        return lambda: [authorization_decide(actor=PROCESSOR, request=request) for request in batch]

    run_together(*(worker(batch) for batch in requests))

    rows = list(Authorization.objects.filter(card=tc.card).order_by("pk"))
    assert len(rows) == 40
    assert [row.approved for row in rows] == [True] * 7 + [False] * 33
    assert {row.decline_reason for row in rows[7:]} == {"pos_count_exceeded"}
    assert DailySpend.objects.get(card=tc.card, group="pos").count == 7
