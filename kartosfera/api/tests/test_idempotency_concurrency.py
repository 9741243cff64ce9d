"""Two identical creates at the same moment, on real concurrent PostgreSQL connections."""

from __future__ import annotations

import contextlib
import threading

import pytest
from django.db import connection

from kartosfera.accounts.models import AccountKind
from kartosfera.api import idempotency
from kartosfera.api.models import IdempotencyRecord
from kartosfera.api.tests.conftest import ApiClient
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer
from kartosfera.processing.models import Posting, PostingKind
from kartosfera.testing.concurrency import run_together
from kartosfera.testing.factories import account_factory, customer_factory

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises every write"),
]

BODY = {"reference": "CIF-RACE", "residency": "non_resident", "first_name": "Jan", "last_name": "Kos"}


def _post_together(client: ApiClient, count: int, key: str) -> list:
    return run_together(*(lambda: client.post("/customers", BODY, key=key) for _ in range(count)))


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_creates_make_one_customer_and_give_the_same_answer(bank, monkeypatch):
    # Both requests look for a stored answer, find none, and only then go on to
    # create: without the unique record inserted in the create's transaction,
    # both would create (or the second would get a 409).
    looked_up = threading.Barrier(2)
    original_get = idempotency.idempotency_record_get
    lookups: list[bool] = []

    def get_then_wait(**kwargs):
        record = original_get(**kwargs)
        lookups.append(record is not None)
        if record is None:
            # The retry after a lost race finds the record, so only the first lookups meet here.
            with contextlib.suppress(threading.BrokenBarrierError):
                looked_up.wait(timeout=5)
        return record

    monkeypatch.setattr(idempotency, "idempotency_record_get", get_then_wait)

    first, second = _post_together(bank, 2, key="race-1")

    assert first.status_code == second.status_code == 201, (first.content, second.content)
    assert first.content == second.content
    assert sorted(r.get("Idempotent-Replayed", "") for r in (first, second)) == ["", "true"]
    assert Customer.objects.filter(reference="CIF-RACE").count() == 1
    assert AuditEvent.objects.filter(action="customers.customer.created").count() == 1
    assert IdempotencyRecord.objects.filter(key="race-1").count() == 1
    # Two lookups found nothing; the loser of the race looked again after its IntegrityError.
    assert sorted(lookups) == [False, False, True]


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_retries_still_make_one_customer(bank):
    responses = _post_together(bank, 6, key="race-2")

    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert Customer.objects.filter(reference="CIF-RACE").count() == 1
    assert AuditEvent.objects.filter(action="customers.customer.created").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_repayment_sent_twice_at_once_under_two_keys_is_one_posting(bank):
    # The core system re-sends a repayment (a new Idempotency-Key) while the first send is still in flight:
    # the bank's reference, checked under the account's lock, keeps the second from booking it again.
    account = account_factory(customer=customer_factory(), reference="ACC-RACE", kind=AccountKind.CREDIT)
    body = {"reference": "SPL-RACE", "amount_minor": 30_000, "currency": "PLN"}

    responses = run_together(
        lambda: bank.post("/accounts/ACC-RACE/repayments", body, key="repay-a"),
        lambda: bank.post("/accounts/ACC-RACE/repayments", body, key="repay-b"),
    )

    assert sorted(r.status_code for r in responses) == [200, 201], [r.content for r in responses]
    assert responses[0].json()["created_at"] == responses[1].json()["created_at"]
    account.refresh_from_db()
    assert account.balance_minor == -120_000 + 30_000
    assert Posting.objects.filter(account=account, kind=PostingKind.REPAYMENT).count() == 1
    assert AuditEvent.objects.filter(action="processing.repayment.posted").count() == 1
