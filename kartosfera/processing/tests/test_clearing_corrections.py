"""Chargebacks (a won dispute) and clearing reversals (the acquirer takes back a duplicate presentment).

Each credits back an earlier debit posting, named by its record id or its network transaction id, never
more than it took in all; idempotent by the record id; one posting and one audit row under the locks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.processing.clearing import RecordOutcome, RecordResult, ReviewReason, clearing_post_record
from kartosfera.processing.models import (
    Authorization,
    AuthorizationStatus,
    Channel,
    DailySpend,
    Posting,
    PostingKind,
)
from kartosfera.processing.tests.helpers import PROCESSOR, CardFixture, active_card, books_check, decide
from kartosfera.processing.tests.test_clearing import card_record, clear, record
from kartosfera.testing.concurrency import run_together

pytestmark = pytest.mark.django_db
BALANCE = 1_000_000


def post(**values: Any) -> RecordResult:
    return clearing_post_record(actor=PROCESSOR, record=record(**values))


def cleared(tc: CardFixture, amount: int = 10_000) -> tuple[Authorization, Posting]:
    authorization = decide(tc, amount_minor=amount).authorization
    return authorization, clear(authorization, amount)


def counter(tc: CardFixture, group: str = "noncash") -> int:
    row = DailySpend.objects.filter(card=tc.card, group=group).first()
    return row.amount_minor if row else 0


# --- Chargebacks ---------------------------------------------------------------------------------


def test_a_chargeback_gives_the_money_back_linked_to_its_original_posting():
    tc = active_card(balance_minor=BALANCE)
    authorization, original = cleared(tc, 10_000)
    result = post(kind="chargeback", original_record_id=original.record_id, amount_minor=10_000)

    assert result.outcome == RecordOutcome.POSTED
    credit = result.posting
    assert credit.kind == PostingKind.CHARGEBACK and credit.balance_change_minor == 10_000
    assert credit.original == original and credit.authorization == authorization
    assert credit.merchant_name == authorization.merchant_name  # the history names whose payment it was
    assert credit.local_date == timezone.localdate()
    assert tc.account.balance_minor == BALANCE
    # Like a refund, it restores no daily limit: the payment stays counted on its day.
    assert counter(tc) == 10_000
    event = AuditEvent.objects.get(action="processing.chargeback.posted")
    assert event.after["original_record_id"] == original.record_id and event.after["balance_change_minor"] == 10_000
    assert event.customer_id == tc.card.customer_id
    books_check(tc, opening=BALANCE)


def test_a_chargeback_named_by_the_network_id_finds_the_latest_debit_of_that_payment():
    tc = active_card(balance_minor=BALANCE)
    authorization = decide(tc, amount_minor=30_000).authorization
    clear(authorization, 10_000, final=False)
    second = clear(authorization, 20_000)
    result = post(kind="chargeback", network_transaction_id=authorization.network_transaction_id, amount_minor=15_000)
    assert result.outcome == RecordOutcome.POSTED and result.posting.original == second
    books_check(tc, opening=BALANCE)


def test_chargebacks_never_give_back_more_than_the_original_took():
    tc = active_card(balance_minor=BALANCE)
    _authorization, original = cleared(tc, 10_000)
    assert post(kind="chargeback", original_record_id=original.record_id, amount_minor=6_000).outcome == "posted"
    balance = tc.account.balance_minor
    events = AuditEvent.objects.count()

    refused = post(kind="chargeback", original_record_id=original.record_id, amount_minor=4_001)

    assert refused.outcome == RecordOutcome.REJECTED and refused.error_code == "exceeds_original"
    assert tc.account.balance_minor == balance and AuditEvent.objects.count() == events
    assert post(kind="chargeback", original_record_id=original.record_id, amount_minor=4_000).outcome == "posted"
    assert tc.account.balance_minor == BALANCE
    books_check(tc, opening=BALANCE)


# --- Clearing reversals --------------------------------------------------------------------------


def test_the_acquirer_reverses_a_duplicate_presentment_and_the_day_counts_the_payment_once():
    tc = active_card(balance_minor=BALANCE)
    authorization = decide(tc, amount_minor=10_000).authorization
    clear(authorization, 10_000, acquirer_reference_number="74000000000000000000001")
    duplicate = clear(authorization, 10_000, acquirer_reference_number="74000000000000000000001")
    assert duplicate.needs_review and duplicate.review_reason == ReviewReason.OVER_TOLERANCE
    assert tc.account.balance_minor == BALANCE - 20_000 and counter(tc) == 20_000

    reversal = post(kind="clearing_reversal", original_record_id=duplicate.record_id, amount_minor=10_000)

    assert reversal.outcome == RecordOutcome.POSTED
    credit = reversal.posting
    assert credit.kind == PostingKind.CLEARING_REVERSAL and credit.original == duplicate
    assert credit.balance_change_minor == 10_000 and credit.local_date == authorization.local_date
    assert tc.account.balance_minor == BALANCE - 10_000
    # The duplicate is taken back as if it had not been: its day counts the payment once.
    assert counter(tc) == 10_000
    authorization.refresh_from_db()
    assert authorization.status == AuthorizationStatus.SETTLED
    assert AuditEvent.objects.filter(action="processing.clearing.reversed").count() == 1
    books_check(tc, opening=BALANCE)


def test_a_clearing_reversal_is_idempotent_and_never_credits_twice():
    tc = active_card(balance_minor=BALANCE)
    _authorization, original = cleared(tc, 10_000)
    body = {"kind": "clearing_reversal", "original_record_id": original.record_id, "amount_minor": 10_000}
    first = post(record_id="rev-dup-1", **body)
    again = post(record_id="rev-dup-1", **body)
    other_id = post(record_id="rev-dup-2", **body)

    assert (first.outcome, again.outcome) == ("posted", "duplicate") and again.posting == first.posting
    assert other_id.outcome == "rejected" and other_id.error_code == "exceeds_original"
    changed = post(record_id="rev-dup-1", **{**body, "amount_minor": 5_000})
    assert changed.outcome == RecordOutcome.CONFLICT
    assert tc.account.balance_minor == BALANCE and counter(tc) == 0
    assert Posting.objects.filter(kind=PostingKind.CLEARING_REVERSAL).count() == 1
    books_check(tc, opening=BALANCE)


def test_a_clearing_reversal_of_a_force_post_gives_back_its_days_internet_limit():
    tc = active_card(balance_minor=BALANCE, internet_limit_default_minor=300_000)
    force = clearing_post_record(
        actor=PROCESSOR, record=card_record(tc, amount_minor=8_000, channel=Channel.ECOMMERCE)
    ).posting
    assert counter(tc, "internet") == 8_000
    assert post(kind="clearing_reversal", original_record_id=force.record_id, amount_minor=3_000).outcome == "posted"
    assert counter(tc, "internet") == counter(tc, "noncash") == 5_000
    books_check(tc, opening=BALANCE)


def test_a_converted_original_is_given_back_at_its_own_rate():
    tc = active_card(balance_minor=BALANCE)
    authorization = decide(
        tc, amount_minor=1_000, currency="EUR", billing_amount_minor=4_300, billing_currency="PLN"
    ).authorization
    original = clear(authorization, 1_000, currency="EUR", billing_amount_minor=4_321, billing_currency="PLN")
    part = post(kind="clearing_reversal", original_record_id=original.record_id, amount_minor=333, currency="EUR")
    # 333/1000 of 43,21 zł = 14,389… → 14,38 zł: rounded down, never more than the original took for it.
    assert part.posting.billing_amount_minor == 1_438
    rest = post(kind="chargeback", original_record_id=original.record_id, amount_minor=667, currency="EUR")
    assert rest.posting.billing_amount_minor == 2_882
    whole = post(kind="chargeback", original_record_id=original.record_id, amount_minor=1_000, currency="EUR")
    assert whole.outcome == "rejected"  # 43,21 zł less the 43,20 zł given back leaves 0,01 zł
    last = post(kind="chargeback", original_record_id=original.record_id, amount_minor=1, currency="PLN")
    assert last.outcome == "posted"
    assert tc.account.balance_minor == BALANCE
    books_check(tc, opening=BALANCE)


def test_the_whole_of_a_converted_original_comes_back_exactly():
    tc = active_card(balance_minor=BALANCE)
    authorization = decide(
        tc, amount_minor=1_000, currency="EUR", billing_amount_minor=4_300, billing_currency="PLN"
    ).authorization
    original = clear(authorization, 1_000, currency="EUR", billing_amount_minor=4_321, billing_currency="PLN")
    whole = post(kind="clearing_reversal", original_record_id=original.record_id, amount_minor=1_000, currency="EUR")
    assert whole.posting.billing_amount_minor == 4_321
    assert tc.account.balance_minor == BALANCE


@pytest.mark.parametrize("kind", ["chargeback", "clearing_reversal"])
def test_a_correction_without_an_original_it_may_give_back_is_rejected(kind):
    tc = active_card(balance_minor=BALANCE)
    authorization, original = cleared(tc, 10_000)
    refund = clearing_post_record(actor=PROCESSOR, record=card_record(tc, kind="refund", amount_minor=500)).posting
    other = active_card(balance_minor=BALANCE)
    cases = [
        {"original_record_id": "no-such-record"},
        {"network_transaction_id": "NTX-nothing-posted"},
        {},  # names nothing
        {"original_record_id": refund.record_id},  # a credit is not given back
        # The two keys name different payments.
        {"original_record_id": original.record_id, "network_transaction_id": "NTX-another"},
        # Another card's number.
        {"original_record_id": original.record_id, "pan": other.pan, "expiry": other.card.expiry},
    ]
    for values in cases:
        result = post(kind=kind, amount_minor=100, **values)
        assert (result.outcome, result.error_code) == ("rejected", "original_unknown"), values
    euro = post(kind=kind, original_record_id=original.record_id, amount_minor=100, currency="EUR")
    assert (euro.outcome, euro.error_code) == ("rejected", "currency")
    assert Posting.objects.filter(kind__in=[PostingKind.CHARGEBACK, PostingKind.CLEARING_REVERSAL]).count() == 0
    assert authorization.postings.count() == 1
    books_check(tc, opening=BALANCE)


# --- Over HTTP -----------------------------------------------------------------------------------


@pytest.fixture
def processor() -> Client:
    _key, token = api_key_create(actor=Actor.system("tests"), name="card processor", scopes=[ApiScope.PROCESSOR])
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_the_endpoint_takes_chargebacks_and_clearing_reversals(processor):
    tc = active_card(balance_minor=BALANCE)
    authorization, original = cleared(tc, 10_000)
    base = {"amount_minor": 2_500, "currency": "PLN", "processing_date": "2026-12-02"}
    body = {
        "records": [
            {"id": "cb-1", "kind": "chargeback", "original_record_id": original.record_id, **base},
            {
                "id": "cr-1",
                "kind": "clearing_reversal",
                "network_transaction_id": authorization.network_transaction_id,
                "card": {"pan": tc.pan, "expiry": f"{tc.card.expiry:%Y-%m}"},
                **base,
            },
            {
                "id": "cb-2",
                "kind": "chargeback",
                "original_record_id": original.record_id,
                **base,
                "amount_minor": 6_000,
            },
        ]
    }
    response = processor.post("/api/processor/v1/clearing", json.dumps(body), content_type="application/json")

    assert response.status_code == 200, response.content
    answers = response.json()["records"]
    assert [(a["outcome"], a["kind"]) for a in answers] == [
        ("posted", "chargeback"),
        ("posted", "clearing_reversal"),
        ("rejected", None),
    ]
    assert answers[0]["authorization_id"] == authorization.processor_id
    assert answers[2]["error_code"] == "exceeds_original"
    assert tc.account.balance_minor == BALANCE - 10_000 + 5_000
    assert tc.pan not in response.content.decode()


# --- Under concurrency ---------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
@pytest.mark.django_db(transaction=True)
def test_corrections_racing_for_one_posting_never_give_back_more_than_it_took():
    tc = active_card(balance_minor=BALANCE)
    _authorization, original = cleared(tc, 10_000)
    operations = [
        lambda n=n: post(
            record_id=f"race-{n}",
            kind="chargeback" if n % 2 else "clearing_reversal",
            original_record_id=original.record_id,
            amount_minor=3_000,
        )
        for n in range(8)
    ]
    outcomes = [result.outcome for result in run_together(*operations)]
    assert outcomes.count("posted") == 3 and outcomes.count("rejected") == 5
    assert tc.account.balance_minor == BALANCE - 10_000 + 9_000
    books_check(tc, opening=BALANCE)
