"""The card core's audit rows carry the card's bank, so that a bank's staff read only their bank's (banks/scope.py).

An authorization, a posting or a conversion charge has no bank of its own: the services pass the card's
(or the account's) bank to the audit row explicitly. A row without it would be shown to every bank.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.processing.adjustments import authorization_increment, authorization_reverse, hold_expire_due
from kartosfera.processing.clearing import RecordOutcome, clearing_post_record
from kartosfera.processing.ledger import Direction, bank_posting_record
from kartosfera.processing.tests.helpers import PROCESSOR, card_of, decide
from kartosfera.processing.tests.test_clearing import record
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db

BANK = Actor(type="api_client", id="kfk_bank", label="core banking")


def test_every_card_core_row_of_a_second_banks_card_carries_that_bank():
    factories.bank_factory()  # the default bank exists too: the rows must not fall back to it, nor to none
    bank_b = factories.bank_factory("BANKB")
    customer = factories.customer_factory(bank=bank_b)
    tc = card_of(customer, factories.product_factory(bank=bank_b), balance_minor=1_000_000)
    paid = decide(tc, amount_minor=10_000).authorization
    authorization_increment(
        actor=PROCESSOR, authorization_id=paid.processor_id, increment_id="inc-1", amount_minor=1_000
    )
    authorization_reverse(actor=PROCESSOR, authorization_id=paid.processor_id, reversal_id="rev-1", amount_minor=1_000)
    cleared = clearing_post_record(
        actor=PROCESSOR, record=record(network_transaction_id=paid.network_transaction_id, amount_minor=10_000)
    )
    assert cleared.outcome == RecordOutcome.POSTED
    decide(tc, amount_minor=5_000)
    assert hold_expire_due(now=timezone.now() + dt.timedelta(days=40)) == 1
    bank_posting_record(
        actor=BANK,
        account=tc.account,
        reference="SALARY-1",
        direction=Direction.CREDIT,
        amount_minor=500_000,
        currency=tc.account.currency,
    )

    rows = AuditEvent.objects.filter(action__startswith="processing.")
    assert {
        "processing.authorization.approved",
        "processing.authorization.incremented",
        "processing.authorization.reversed",
        "processing.clearing.posted",
        "processing.authorization.expired",
        "processing.bank_posting.posted",
    } <= set(rows.values_list("action", flat=True))
    assert set(rows.values_list("bank_id", flat=True)) == {bank_b.pk}
