"""Clearing: matched clearings (above, below, partial shipments), force posts, refunds, late clearings, idempotency."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from kartosfera.accounts.models import Account
from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.cards.pan import pan_fingerprint
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.processing.adjustments import authorization_increment, authorization_reverse, hold_expire_due
from kartosfera.processing.clearing import (
    ClearingRecord,
    RecordOutcome,
    ReviewReason,
    clearing_post_batch,
    clearing_post_record,
    record_fingerprint,
    tolerance_percent,
)
from kartosfera.processing.models import (
    Authorization,
    AuthorizationStatus,
    Channel,
    DailySpend,
    Posting,
    PostingKind,
)
from kartosfera.processing.tests.helpers import (
    PROCESSOR,
    CardFixture,
    active_card,
    authenticate,
    books_check,
    decide,
    three_ds,
)

pytestmark = pytest.mark.django_db
BALANCE = 1_000_000
_ids = iter(range(1, 10**6))


def record(**values: Any) -> ClearingRecord:
    base: dict[str, Any] = {
        "record_id": f"clr-{next(_ids):06d}",
        "kind": "clearing",
        "amount_minor": 4_250,
        "currency": "PLN",
        "processing_date": dt.date(2026, 11, 30),
        "acquirer_reference_number": "74567890123456789012345",
    }
    base.update(values)
    return ClearingRecord(**base)


def clear(authorization: Authorization, amount: int, **values: Any) -> Posting:
    result = clearing_post_record(
        actor=PROCESSOR,
        record=record(network_transaction_id=authorization.network_transaction_id, amount_minor=amount, **values),
    )
    assert result.outcome == RecordOutcome.POSTED, result
    assert result.posting is not None
    return result.posting


def approve(tc: CardFixture, amount: int, **values: Any) -> Authorization:
    authorization = decide(tc, amount_minor=amount, **values).authorization
    assert authorization.approved
    return authorization


def card_record(tc: CardFixture, **values: Any) -> ClearingRecord:
    return record(**{"pan": tc.pan, "expiry": tc.card.expiry, "merchant_name": "Allegro", "mcc": "5999", **values})


def check_books(tc: CardFixture) -> None:
    books_check(tc, opening=BALANCE)


def test_a_clearing_below_the_authorization_posts_the_cleared_amount_and_releases_the_rest():
    tc = active_card(balance_minor=BALANCE)
    authorization = approve(tc, 10_000)
    posting = clear(authorization, 8_500)
    authorization.refresh_from_db()
    assert authorization.status == AuthorizationStatus.SETTLED and authorization.held_minor == 0
    assert posting.kind == PostingKind.CLEARING and posting.authorization == authorization
    assert posting.balance_change_minor == -8_500 and posting.released_minor == 10_000
    assert not posting.needs_review
    account = tc.account
    assert account.balance_minor == BALANCE - 8_500 and account.held_minor == 0
    assert DailySpend.objects.get(card=tc.card, group="noncash").amount_minor == 8_500
    event = AuditEvent.objects.get(action="processing.clearing.posted")
    assert event.after["billing_amount_minor"] == 8_500 and event.after["released_minor"] == 10_000
    check_books(tc)


@pytest.mark.parametrize(
    ("mcc", "cleared", "flagged"),
    [
        ("5812", 12_000, False),  # restaurant tip: 20 % allowed
        ("5812", 12_001, True),
        ("7011", 11_500, False),  # lodging: 15 %
        ("7011", 11_501, True),
        ("4121", 12_000, False),  # taxi: 20 %
        ("5411", 10_000, False),  # grocery: no tolerance
        ("5411", 10_001, True),
    ],
)
def test_a_clearing_above_the_authorization_posts_and_is_flagged_beyond_the_mccs_tolerance(mcc, cleared, flagged):
    tc = active_card(balance_minor=BALANCE)
    authorization = approve(tc, 10_000, mcc=mcc)
    posting = clear(authorization, cleared)
    assert posting.needs_review is flagged
    assert posting.review_reason == (ReviewReason.OVER_TOLERANCE if flagged else "")
    assert tc.account.balance_minor == BALANCE - cleared  # the scheme has settled: it posts either way
    assert DailySpend.objects.get(card=tc.card, group="noncash").amount_minor == cleared
    check_books(tc)


def test_the_tolerance_table():
    assert [tolerance_percent(m) for m in ("5812", "5813", "4121", "7011", "3500", "7512", "4411", "5411", "x")] == [
        20,
        20,
        20,
        15,
        15,
        15,
        15,
        0,
        0,
    ]


def test_an_increment_raises_what_may_be_cleared_without_review():
    tc = active_card(balance_minor=BALANCE)
    authorization = approve(tc, 10_000, mcc="7011")
    authorization_increment(
        actor=PROCESSOR, authorization_id=authorization.processor_id, increment_id="i1", amount_minor=10_000
    )
    assert not clear(authorization, 23_000).needs_review  # 20 000 authorized + 15 %
    check_books(tc)


def test_partial_shipments_each_lower_the_hold_and_the_final_one_releases_the_rest():
    tc = active_card(balance_minor=BALANCE, internet_limit_default_minor=300_000)
    authorization = approve(tc, 30_000, channel=Channel.ECOMMERCE, **three_ds(authenticate(tc, amount_minor=30_000)))
    first = clear(authorization, 12_000, final=False)
    authorization.refresh_from_db()
    assert authorization.status == AuthorizationStatus.PARTIALLY_SETTLED and authorization.held_minor == 18_000
    assert first.released_minor == 12_000 and tc.account.held_minor == 18_000
    check_books(tc)
    clear(authorization, 10_000, final=False)
    authorization.refresh_from_db()
    assert authorization.status == AuthorizationStatus.PARTIALLY_SETTLED and authorization.held_minor == 8_000
    last = clear(authorization, 5_000)
    authorization.refresh_from_db()
    assert authorization.status == AuthorizationStatus.SETTLED and authorization.held_minor == 0
    assert last.released_minor == 8_000
    assert tc.account.balance_minor == BALANCE - 27_000
    for group in ("noncash", "internet"):
        assert DailySpend.objects.get(card=tc.card, group=group).amount_minor == 27_000
    check_books(tc)


def test_partial_shipments_above_the_authorization_are_flagged_on_the_total():
    tc = active_card(balance_minor=BALANCE)
    authorization = approve(tc, 10_000)
    assert not clear(authorization, 6_000, final=False).needs_review
    assert clear(authorization, 6_000).needs_review  # 12 000 in total over 10 000 without tolerance
    check_books(tc)


def test_a_force_post_posts_on_its_own_past_the_funds_and_counts_on_the_day_it_posts():
    tc = active_card(balance_minor=BALANCE)
    now = timezone.now()
    result = clearing_post_record(
        actor=PROCESSOR,
        record=card_record(tc, amount_minor=BALANCE + 5_000, network_transaction_id="NTX-none"),
        now=now,
    )
    assert result.outcome == RecordOutcome.POSTED
    posting = result.posting
    assert posting.kind == PostingKind.FORCE_POST and posting.authorization is None
    assert posting.local_date == timezone.localdate(now)
    assert tc.account.balance_minor == -5_000
    assert DailySpend.objects.get(card=tc.card, group="noncash", local_date=posting.local_date).amount_minor == (
        BALANCE + 5_000
    )
    check_books(tc)


def test_a_cash_force_post_counts_against_the_cash_limit():
    tc = active_card(balance_minor=BALANCE)
    result = clearing_post_record(actor=PROCESSOR, record=card_record(tc, amount_minor=20_000, mcc="6011"))
    assert result.outcome == RecordOutcome.POSTED
    assert DailySpend.objects.get(card=tc.card, group="cash").amount_minor == 20_000
    check_books(tc)


def test_an_internet_force_post_counts_in_the_internet_limit_on_the_day_it_posts():
    tc = active_card(balance_minor=BALANCE, internet_limit_default_minor=50_000)
    now = timezone.now()
    result = clearing_post_record(
        actor=PROCESSOR, record=card_record(tc, amount_minor=40_000, channel=Channel.ECOMMERCE), now=now
    )
    posting = result.posting
    assert posting.kind == PostingKind.FORCE_POST and posting.channel == Channel.ECOMMERCE
    day = timezone.localdate(now)
    for group in ("noncash", "internet"):
        assert DailySpend.objects.get(card=tc.card, local_date=day, group=group).amount_minor == 40_000
    assert AuditEvent.objects.get(action="processing.clearing.posted").after["channel"] == "ecommerce"
    check_books(tc)
    # So the day's internet limit has 10 000 left: an internet payment of 20 000 is declined by it.
    secure = three_ds(authenticate(tc, amount_minor=20_000, now=now))
    declined = decide(tc, amount_minor=20_000, channel=Channel.ECOMMERCE, now=now, **secure).authorization
    assert declined.decline_reason == "internet_limit_exceeded"


def test_a_force_post_with_a_channel_counts_by_the_channel_not_the_mcc():
    tc = active_card(balance_minor=BALANCE)
    clearing_post_record(actor=PROCESSOR, record=card_record(tc, amount_minor=5_000, mcc="6011", channel="pos_chip"))
    clearing_post_record(actor=PROCESSOR, record=card_record(tc, amount_minor=7_000, mcc="5999", channel="atm"))
    counters = {row.group: row.amount_minor for row in DailySpend.objects.filter(card=tc.card)}
    assert counters == {"noncash": 5_000, "cash": 7_000}
    check_books(tc)


def test_a_matched_clearing_counts_in_its_authorizations_channel_whatever_the_record_says():
    tc = active_card(balance_minor=BALANCE)
    authorization = approve(tc, 10_000)  # chip: non-cash only
    posting = clear(authorization, 10_000, channel=Channel.ECOMMERCE)
    assert posting.channel == Channel.POS_CHIP
    assert not DailySpend.objects.filter(card=tc.card, group="internet").exists()
    check_books(tc)


def test_an_unknown_channel_is_rejected():
    tc = active_card(balance_minor=BALANCE)
    result = clearing_post_record(actor=PROCESSOR, record=card_record(tc, channel="telepathy"))
    assert result.outcome == RecordOutcome.REJECTED and result.error_code == "channel"
    assert Posting.objects.count() == 0


def test_a_record_stored_before_channels_existed_is_still_a_duplicate_when_resent():
    # The fingerprint of a record without the later fields is the one stored before they existed.
    tc = active_card(balance_minor=BALANCE)
    sent = card_record(tc, amount_minor=2_000)
    fields = {name: getattr(sent, name) for name in sent.__dataclass_fields__}
    del fields["channel"], fields["original_record_id"]
    fields["pan"] = pan_fingerprint(sent.pan)
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    stored_before = hmac.new(
        settings.CARD_FINGERPRINT_KEY.encode(), b"kartosfera.clearing.v1\x00" + canonical.encode(), hashlib.sha256
    ).hexdigest()
    assert record_fingerprint(sent) == stored_before
    assert record_fingerprint(dataclasses.replace(sent, channel="pos_chip")) != stored_before


def test_a_refund_credits_the_account_and_does_not_restore_the_limit():
    tc = active_card(balance_minor=BALANCE)
    authorization = approve(tc, 10_000)
    clear(authorization, 10_000)
    result = clearing_post_record(
        actor=PROCESSOR,
        record=card_record(
            tc, kind="refund", amount_minor=4_000, network_transaction_id=authorization.network_transaction_id
        ),
    )
    assert result.outcome == RecordOutcome.POSTED
    posting = result.posting
    assert posting.kind == PostingKind.REFUND and posting.balance_change_minor == 4_000
    assert posting.authorization == authorization  # linked when it names one
    assert tc.account.balance_minor == BALANCE - 6_000
    assert DailySpend.objects.get(card=tc.card, group="noncash").amount_minor == 10_000
    assert AuditEvent.objects.filter(action="processing.refund.posted").count() == 1
    check_books(tc)


def test_a_refund_without_an_authorization_finds_the_card_by_its_number():
    tc = active_card(balance_minor=BALANCE)
    result = clearing_post_record(actor=PROCESSOR, record=card_record(tc, kind="refund", amount_minor=1_500))
    assert result.outcome == RecordOutcome.POSTED and result.posting.authorization is None
    assert tc.account.balance_minor == BALANCE + 1_500
    check_books(tc)


def test_a_late_clearing_after_expiry_still_posts_and_counts_on_the_authorizations_day():
    tc = active_card(balance_minor=BALANCE)
    authorization = approve(tc, 10_000)
    assert hold_expire_due(now=timezone.now() + dt.timedelta(days=40)) == 1
    posting = clear(authorization, 10_000)
    authorization.refresh_from_db()
    assert authorization.status == AuthorizationStatus.SETTLED
    assert posting.released_minor == 0 and not posting.needs_review
    assert posting.local_date == authorization.local_date
    assert tc.account.balance_minor == BALANCE - 10_000 and tc.account.held_minor == 0
    check_books(tc)


def test_a_late_clearing_after_a_reversal_still_posts_and_is_flagged():
    tc = active_card(balance_minor=BALANCE)
    authorization = approve(tc, 10_000)
    authorization_reverse(actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="rev-1")
    posting = clear(authorization, 10_000)
    authorization.refresh_from_db()
    assert authorization.status == AuthorizationStatus.SETTLED
    assert posting.needs_review and posting.review_reason == ReviewReason.AFTER_REVERSAL
    assert tc.account.balance_minor == BALANCE - 10_000 and tc.account.held_minor == 0
    check_books(tc)


def test_a_converted_clearing_keeps_every_amount_apart():
    tc = active_card(balance_minor=BALANCE)
    authorization = approve(tc, 1_000, currency="EUR", billing_amount_minor=4_300, billing_currency="PLN")
    posting = clear(
        authorization,
        1_000,
        currency="EUR",
        billing_amount_minor=4_310,
        billing_currency="PLN",
        billing_rate="4.31",
        settlement_amount_minor=1_000,
        settlement_currency="EUR",
    )
    posting.refresh_from_db()
    assert (posting.amount_minor, posting.currency) == (1_000, "EUR")
    assert (posting.billing_amount_minor, posting.billing_currency, str(posting.billing_rate)) == (
        4_310,
        "PLN",
        "4.310000000",
    )
    assert (posting.settlement_amount_minor, posting.settlement_currency) == (1_000, "EUR")
    assert posting.needs_review  # 4 310 over the 4 300 held, no tolerance for groceries
    assert tc.account.balance_minor == BALANCE - 4_310
    check_books(tc)


def test_a_batch_posts_each_record_on_its_own_and_a_resend_is_skipped():
    tc = active_card(balance_minor=BALANCE)
    authorization = approve(tc, 10_000)
    records = [
        record(network_transaction_id=authorization.network_transaction_id, amount_minor=10_000),
        card_record(tc, amount_minor=2_000),
        record(network_transaction_id="NTX-unknown", amount_minor=100),  # no authorization, no card
        card_record(tc, kind="refund", amount_minor=500),
    ]
    first = clearing_post_batch(actor=PROCESSOR, records=records)
    assert [r.outcome for r in first] == ["posted", "posted", "rejected", "posted"]
    assert first[2].error_code == "card_unknown"
    balance = tc.account.balance_minor
    assert balance == BALANCE - 10_000 - 2_000 + 500
    again = clearing_post_batch(actor=PROCESSOR, records=records)
    assert [r.outcome for r in again] == ["duplicate", "duplicate", "rejected", "duplicate"]
    assert [r.posting.pk for r in again if r.posting] == [r.posting.pk for r in first if r.posting]
    assert tc.account.balance_minor == balance and Posting.objects.count() == 3
    assert AuditEvent.objects.filter(action__in=["processing.clearing.posted", "processing.refund.posted"]).count() == 3
    check_books(tc)


def test_a_record_id_with_another_body_is_a_conflict_and_the_rest_still_posts():
    tc = active_card(balance_minor=BALANCE)
    first = card_record(tc, amount_minor=2_000)
    assert clearing_post_record(actor=PROCESSOR, record=first).outcome == "posted"
    changed = card_record(tc, amount_minor=2_001, record_id=first.record_id)
    results = clearing_post_batch(actor=PROCESSOR, records=[changed, card_record(tc, amount_minor=300)])
    assert [r.outcome for r in results] == ["conflict", "posted"]
    assert results[0].error_code == "record_id_conflict" and results[0].posting is None
    assert tc.account.balance_minor == BALANCE - 2_300
    check_books(tc)


def test_a_billing_currency_that_is_not_the_accounts_is_rejected_and_writes_nothing():
    tc = active_card(balance_minor=BALANCE)
    result = clearing_post_record(actor=PROCESSOR, record=card_record(tc, currency="EUR", amount_minor=100))
    assert result.outcome == RecordOutcome.REJECTED and result.error_code == "billing_amount"
    result = clearing_post_record(
        actor=PROCESSOR,
        record=card_record(tc, currency="EUR", amount_minor=100, billing_amount_minor=430, billing_currency="EUR"),
    )
    assert result.outcome == RecordOutcome.REJECTED and result.error_code == "currency"
    assert Posting.objects.count() == 0 and tc.account.balance_minor == BALANCE


def test_a_posting_is_never_changed():
    tc = active_card(balance_minor=BALANCE)
    posting = clearing_post_record(actor=PROCESSOR, record=card_record(tc)).posting
    posting.amount_minor = 1
    with pytest.raises(ValueError, match="never changed"):
        posting.save()


# The HTTP endpoint.

URL = "/api/processor/v1/clearing"


@pytest.fixture
def processor() -> Client:
    _key, token = api_key_create(actor=Actor.system("tests"), name="card processor", scopes=[ApiScope.PROCESSOR])
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_the_endpoint_posts_a_batch_and_answers_per_record(processor, caplog):
    caplog.set_level(logging.DEBUG)
    tc = active_card(balance_minor=BALANCE)
    authorization = approve(tc, 10_000, mcc="5812")
    body = {
        "records": [
            {
                "id": "rec-1",
                "kind": "clearing",
                "network_transaction_id": authorization.network_transaction_id,
                "amount_minor": 11_000,
                "currency": "PLN",
                "acquirer_reference_number": "74567890123456789012345",
                "processing_date": "2026-11-30",
            },
            {
                "id": "rec-2",
                "kind": "refund",
                "card": {"pan": tc.pan, "expiry": f"{tc.card.expiry:%Y-%m}"},
                "amount_minor": 700,
                "currency": "PLN",
                "merchant": {"name": "Zwrot", "country": "PL", "mcc": "5999"},
                "processing_date": "2026-11-30",
            },
        ]
    }
    response = processor.post(URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    answers = response.json()["records"]
    assert answers[0] == {
        "id": "rec-1",
        "outcome": "posted",
        "kind": "clearing",
        "authorization_id": authorization.processor_id,
        "billing_amount_minor": 11_000,
        "billing_currency": "PLN",
        "needs_review": False,
        "error_code": None,
        "error_message": None,
    }
    assert answers[1]["outcome"] == "posted" and answers[1]["kind"] == "refund"
    assert tc.pan not in response.content.decode()
    assert tc.pan not in json.dumps(list(AuditEvent.objects.values_list("after", flat=True)))
    assert tc.pan not in json.dumps(list(Posting.objects.values()), default=str)
    assert tc.pan not in caplog.text
    again = processor.post(URL, json.dumps(body), content_type="application/json")
    assert [a["outcome"] for a in again.json()["records"]] == ["duplicate", "duplicate"]
    assert Account.objects.get(pk=tc.card.account_id).balance_minor == BALANCE - 11_000 + 700


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "fee"},
        {"channel": "telepathy"},
        {"amount_minor": 0},
        {"processing_date": "30.11.2026"},
        {"processing_date": 0},
        {"processing_date": "1764460800"},
        {"unknown": 1},
    ],
)
def test_a_bad_record_is_422(processor, change):
    record_body = {
        "id": "r1",
        "kind": "clearing",
        "amount_minor": 1,
        "currency": "PLN",
        "processing_date": "2026-11-30",
    }
    response = processor.post(
        URL, json.dumps({"records": [{**record_body, **change}]}), content_type="application/json"
    )
    assert response.status_code == 422
    assert Posting.objects.count() == 0


def test_an_empty_batch_is_422(processor):
    response = processor.post(URL, json.dumps({"records": []}), content_type="application/json")
    assert response.status_code == 422
