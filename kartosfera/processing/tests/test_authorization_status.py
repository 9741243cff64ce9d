"""The authorization's status machine: pending → partially settled → settled, and the ways out of each."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from kartosfera.processing.adjustments import authorization_increment, authorization_reverse, hold_expire_due
from kartosfera.processing.clearing import ClearingRecord, RecordOutcome, clearing_post_record
from kartosfera.processing.models import (
    AUTHORIZATION_TRANSITIONS,
    HOLDING_STATUSES,
    Authorization,
    AuthorizationStatus,
    InvalidStatusChange,
)
from kartosfera.processing.tests.helpers import PROCESSOR, CardFixture, active_card, books_check, card_of, decide

pytestmark = pytest.mark.django_db
BALANCE = 1_000_000
S = AuthorizationStatus


def _clear(authorization: Authorization, amount: int, *, record_id: str, final: bool, **values: Any) -> None:
    result = clearing_post_record(
        actor=PROCESSOR,
        record=ClearingRecord(
            record_id=record_id,
            kind="clearing",
            network_transaction_id=authorization.network_transaction_id,
            amount_minor=amount,
            currency="PLN",
            processing_date=dt.date(2026, 11, 30),
            final=final,
        ),
        **values,
    )
    assert result.outcome == RecordOutcome.POSTED, result


def _shipped_in_part(tc: CardFixture, *, amount: int = 30_000, first: int = 12_000, **values: Any) -> Authorization:
    authorization = decide(tc, amount_minor=amount, **values).authorization
    _clear(authorization, first, record_id=f"part-1-{authorization.pk}", final=False)
    authorization.refresh_from_db()
    assert (authorization.status, authorization.held_minor) == (S.PARTIALLY_SETTLED, amount - first)
    return authorization


def test_the_machine_is_explicit_and_its_end_states_have_no_way_out():
    assert set(AUTHORIZATION_TRANSITIONS) == set(S.values)
    assert {S.PENDING, S.PARTIALLY_SETTLED} == HOLDING_STATUSES
    assert AUTHORIZATION_TRANSITIONS[S.PENDING] == {S.PARTIALLY_SETTLED, S.SETTLED, S.REVERSED, S.EXPIRED}
    assert AUTHORIZATION_TRANSITIONS[S.PARTIALLY_SETTLED] == {S.SETTLED}
    assert AUTHORIZATION_TRANSITIONS[S.REVERSED] == AUTHORIZATION_TRANSITIONS[S.EXPIRED] == {S.SETTLED}
    assert AUTHORIZATION_TRANSITIONS[S.SETTLED] == AUTHORIZATION_TRANSITIONS[S.DECLINED] == frozenset()


@pytest.mark.parametrize(
    ("start", "target"),
    [(S.SETTLED, S.PENDING), (S.DECLINED, S.SETTLED), (S.PARTIALLY_SETTLED, S.REVERSED), (S.EXPIRED, S.PENDING)],
)
def test_a_change_the_machine_does_not_allow_raises(start, target):
    authorization = Authorization(processor_id="x", status=start)
    with pytest.raises(InvalidStatusChange):
        authorization.move_to(target)
    assert authorization.status == start


def test_a_partial_shipment_leaves_it_partially_settled_until_the_last_part():
    tc = active_card(balance_minor=BALANCE)
    authorization = _shipped_in_part(tc)
    assert tc.account.held_minor == 18_000
    books_check(tc, opening=BALANCE)
    _clear(authorization, 18_000, record_id="part-2", final=True)
    authorization.refresh_from_db()
    assert (authorization.status, authorization.held_minor) == (S.SETTLED, 0)
    books_check(tc, opening=BALANCE)


def test_a_non_final_clearing_of_everything_held_is_settled_not_partially():
    tc = active_card(balance_minor=BALANCE)
    authorization = decide(tc, amount_minor=10_000).authorization
    _clear(authorization, 10_000, record_id="all", final=False)
    authorization.refresh_from_db()
    assert (authorization.status, authorization.held_minor) == (S.SETTLED, 0)


def test_reversing_the_rest_of_a_partially_settled_authorization_settles_it():
    tc = active_card(balance_minor=BALANCE)
    authorization = _shipped_in_part(tc)
    authorization_reverse(actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="rest")
    authorization.refresh_from_db()
    # The rest of the order was cancelled: what was shipped was paid, so it reads "settled", not "reversed".
    assert (authorization.status, authorization.held_minor) == (S.SETTLED, 0)
    assert tc.account.held_minor == 0
    books_check(tc, opening=BALANCE)


def test_a_partial_reversal_keeps_it_partially_settled():
    tc = active_card(balance_minor=BALANCE)
    authorization = _shipped_in_part(tc)
    authorization_reverse(
        actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="some", amount_minor=8_000
    )
    authorization.refresh_from_db()
    assert (authorization.status, authorization.held_minor) == (S.PARTIALLY_SETTLED, 10_000)
    books_check(tc, opening=BALANCE)


def test_the_rest_of_a_partially_settled_hold_expires_and_it_is_settled():
    tc = active_card(balance_minor=BALANCE)
    authorization = _shipped_in_part(tc)
    assert hold_expire_due(now=timezone.now() + dt.timedelta(days=11)) == 1
    authorization.refresh_from_db()
    assert (authorization.status, authorization.held_minor) == (S.SETTLED, 0)
    assert tc.account.held_minor == 0
    books_check(tc, opening=BALANCE)


def test_a_partially_settled_authorization_may_still_be_increased():
    tc = active_card(balance_minor=BALANCE)
    authorization = _shipped_in_part(tc, mcc="7011")
    decision = authorization_increment(
        actor=PROCESSOR, authorization_id=authorization.processor_id, increment_id="inc", amount_minor=5_000
    )
    assert decision.adjustment.approved
    authorization.refresh_from_db()
    assert (authorization.status, authorization.held_minor) == (S.PARTIALLY_SETTLED, 23_000)
    books_check(tc, opening=BALANCE)


def test_the_database_refuses_a_partially_settled_authorization_that_holds_nothing():
    tc = active_card(balance_minor=BALANCE)
    authorization = _shipped_in_part(tc)
    with pytest.raises(IntegrityError), transaction.atomic():
        Authorization.objects.filter(pk=authorization.pk).update(held_minor=0)


def test_the_holds_list_shows_a_partially_settled_authorizations_rest(client, cardholder, debit_product):
    tc = card_of(cardholder.customer, debit_product, balance_minor=BALANCE)
    _shipped_in_part(tc, merchant_name="Sklep wysyłkowy")
    client.force_login(cardholder.user)
    response = client.get(f"/cards/{tc.card.pk}/history/")
    holds = response.context["holds"]
    assert [(hold.merchant_name, hold.held_minor) for hold, _amount in holds] == [("Sklep wysyłkowy", 18_000)]
