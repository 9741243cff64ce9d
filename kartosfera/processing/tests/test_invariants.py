"""Random sequences of authorizations, reversals, increments, advices, expiries, clearings (partial ones too),
refunds, chargebacks and clearing reversals keep the invariants (helpers.books_check):

- the account's held amount = the sum of its open (pending, partially settled) authorizations' holds;
- the balance = the opening balance + the sum of the postings;
- each day's counter = its definition: the open holds that count on that day and limit, plus the amounts
  cleared on that day's authorizations and the force posts of that day, less the clearing reversals of them;
- nothing gives back more than its original posting took;
- the available funds go below zero only through an advice, a force post or a clearing above the hold.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kartosfera.processing.adjustments import authorization_increment, authorization_reverse, hold_expire_due
from kartosfera.processing.advices import advice_record
from kartosfera.processing.clearing import ClearingRecord, clearing_post_record
from kartosfera.processing.models import (
    Authorization,
    Channel,
    Posting,
    PostingKind,
)
from kartosfera.processing.tests.helpers import (
    PIN,
    PROCESSOR,
    active_card,
    authenticate,
    books_check,
    decide,
    request_for,
    three_ds,
)

pytestmark = pytest.mark.django_db
OPENING = 400_000

CHANNELS = [Channel.POS_CHIP, Channel.POS_CONTACTLESS, Channel.ATM, Channel.ECOMMERCE]
AMOUNTS = st.integers(min_value=1, max_value=120_000)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("authorize"), st.sampled_from(CHANNELS), AMOUNTS, st.integers(0, 2), st.booleans()),
        st.tuples(st.just("reverse"), st.integers(0, 50), st.none() | AMOUNTS),
        st.tuples(st.just("increment"), st.integers(0, 50), AMOUNTS),
        st.tuples(st.just("advice"), AMOUNTS),
        st.tuples(st.just("expire"), st.integers(0, 12)),
        st.tuples(st.just("clear"), st.integers(0, 50), st.integers(50, 130), st.booleans()),
        st.tuples(st.just("refund"), AMOUNTS),
        st.tuples(st.sampled_from(["chargeback", "clearing_reversal"]), st.integers(0, 50), st.integers(1, 120)),
    ),
    min_size=1,
    max_size=25,
)


def _check_invariants(tc, *, advised: bool) -> None:
    books_check(tc, opening=OPENING)
    if not advised:
        assert tc.account.available_minor >= 0


# Random lists this short rarely reach a clearing: these sequences make sure each run walks a partial shipment
# (partially settled, increased, then its rest expired: settled), a late clearing after that, a chargeback, a
# correction refused for giving back too much, full and repeated clearing reversals and a refund.
SETTLING = [
    ("authorize", Channel.POS_CHIP, 50_000, 0, False),
    ("authorize", Channel.ECOMMERCE, 30_000, 0, False),
    ("clear", 1, 40, False),
    ("increment", 1, 5_000),
    ("clear", 0, 100, True),
    ("chargeback", 0, 50),
    ("clearing_reversal", 0, 60),
    ("clearing_reversal", 1, 100),
    ("clearing_reversal", 1, 1),
    ("expire", 12),
    ("clear", 1, 30, True),
    ("refund", 1_000),
    ("clearing_reversal", 2, 100),
]
SPLIT_AND_REVERSED = [
    ("authorize", Channel.POS_CONTACTLESS, 9_000, 1, False),
    ("clear", 0, 50, False),
    ("reverse", 0, None),
    ("clear", 0, 20, True),
    ("chargeback", 1, 100),
    ("authorize", Channel.ATM, 20_000, 0, False),
    ("clear", 1, 100, True),
    ("clearing_reversal", 2, 100),
]


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(operations=SETTLING)
@example(operations=SPLIT_AND_REVERSED)
@given(operations=OPERATIONS)
def test_random_operations_keep_the_invariants(operations):
    tc = active_card(balance_minor=OPENING, internet_limit_default_minor=300_000)
    start = timezone.now()
    ids: list[str] = []
    debits: list[str] = []  # the record ids of the clearings and force posts
    advised = False
    for step, operation in enumerate(operations):
        now = start + dt.timedelta(hours=step)
        kind = operation[0]
        if kind == "authorize":
            _, channel, amount, days_later, partial = operation
            extra = {"pin_entered": True, "pin": PIN} if channel == Channel.ATM else {}
            if channel == Channel.ECOMMERCE:
                moment = now + dt.timedelta(days=days_later)
                extra = three_ds(authenticate(tc, amount_minor=amount, now=moment))
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
        elif kind == "clear" and ids:
            _, index, percent, final = operation
            authorization = Authorization.objects.get(processor_id=ids[index % len(ids)])
            amount = max(1, authorization.billing_amount_minor * percent // 100)
            result = clearing_post_record(
                actor=PROCESSOR,
                record=ClearingRecord(
                    record_id=f"clr-{tc.card.pk}-{step}",
                    kind="clearing",
                    network_transaction_id=authorization.network_transaction_id,
                    pan=tc.pan,
                    expiry=tc.card.expiry,
                    amount_minor=amount,
                    currency=authorization.currency,
                    processing_date=now.date(),
                    final=final,
                ),
                now=now,
            )
            posting = result.posting
            debits.append(posting.record_id)
            # A force post (a declined authorization) or a clearing above its hold may overdraw: the scheme settled.
            advised = (
                advised
                or posting.kind == PostingKind.FORCE_POST
                or posting.billing_amount_minor > posting.released_minor
            )
        elif kind == "refund":
            clearing_post_record(
                actor=PROCESSOR,
                record=ClearingRecord(
                    record_id=f"ref-{tc.card.pk}-{step}",
                    kind="refund",
                    pan=tc.pan,
                    expiry=tc.card.expiry,
                    amount_minor=operation[1],
                    currency="PLN",
                    processing_date=now.date(),
                ),
                now=now,
            )
        elif kind in ("chargeback", "clearing_reversal") and debits:
            # Some of them ask for more than is left to give back: refused, nothing written.
            _, index, percent = operation
            original = Posting.objects.get(record_id=debits[index % len(debits)])
            clearing_post_record(
                actor=PROCESSOR,
                record=ClearingRecord(
                    record_id=f"cor-{tc.card.pk}-{step}",
                    kind=kind,
                    original_record_id=original.record_id,
                    amount_minor=max(1, original.billing_amount_minor * percent // 100),
                    currency="PLN",
                    processing_date=now.date(),
                ),
                now=now,
            )
        _check_invariants(tc, advised=advised)
