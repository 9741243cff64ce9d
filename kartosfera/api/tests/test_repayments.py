"""POST /accounts/{reference}/repayments: the holder's payment to a credit account (docs/statements.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum
from django.utils import timezone

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.api.tests.conftest import audit_rows, errors_by_field
from kartosfera.core.models import AuditEvent
from kartosfera.core.money import MAX_AMOUNT_MINOR
from kartosfera.processing.models import Posting, PostingKind
from kartosfera.testing.factories import account_factory, bank_factory, customer_factory

pytestmark = pytest.mark.django_db

REPAYMENT = {"reference": "SPL-2026-000117", "amount_minor": 50_000, "currency": "PLN", "value_date": "2026-11-27"}


@pytest.fixture
def credit_account(db) -> Account:
    # A credit card account owing 1 200,00 zł (the factory's balance), limit 10 000,00 zł.
    return account_factory(
        customer=customer_factory(reference="CIF-REPAY"), reference="ACC-CRED", kind=AccountKind.CREDIT
    )


def ledger_total(account: Account) -> int:
    return Posting.objects.filter(account=account).aggregate(total=Sum("balance_change_minor"))["total"] or 0


def test_a_repayment_lowers_the_debt_as_a_posting_of_its_own_kind_with_its_audit_row(bank, credit_account):
    response = bank.post("/accounts/ACC-CRED/repayments", REPAYMENT)

    assert response.status_code == 201, response.json()
    assert response.json() == {
        "reference": "SPL-2026-000117",
        "account": "ACC-CRED",
        "amount_minor": 50_000,
        "currency": "PLN",
        "balance_change_minor": 50_000,
        "value_date": "2026-11-27",
        "created_at": response.json()["created_at"],
    }
    credit_account.refresh_from_db()
    assert (
        credit_account.balance_minor == -70_000 == credit_account.opening_balance_minor + ledger_total(credit_account)
    )
    posting = Posting.objects.get(account=credit_account)
    assert (posting.kind, posting.card_id, posting.record_id, posting.bank_reference) == (
        PostingKind.REPAYMENT,
        None,
        None,
        "SPL-2026-000117",
    )
    assert posting.processing_date == dt.date(2026, 11, 27)
    [row] = audit_rows(bank.api_key, "processing.repayment.posted")
    assert (row.customer_id, row.bank_id) == (credit_account.customer_id, credit_account.bank_id)
    assert row.after["balance_after_minor"] == -70_000 and row.after["value_date"] == "2026-11-27"


def test_the_value_date_defaults_to_today_and_an_overpayment_is_taken(bank, credit_account):
    body = {"reference": "SPL-OVER", "amount_minor": 150_000, "currency": "PLN"}

    response = bank.post("/accounts/ACC-CRED/repayments", body)

    assert response.status_code == 201, response.json()
    assert response.json()["value_date"] == timezone.localdate().isoformat()
    credit_account.refresh_from_db()
    assert credit_account.balance_minor == 30_000  # paid beyond the debt: the holder's money now


def test_a_repayment_to_a_debit_account_is_refused_with_a_clear_message(bank):
    account_factory(customer=customer_factory(), reference="ACC-DEBIT")

    response = bank.post("/accounts/ACC-DEBIT/repayments", REPAYMENT, **{"Accept-Language": "en"})

    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "not_a_credit_account"
    assert "credit card account" in errors_by_field(response)["account"]
    assert not Posting.objects.exists()
    assert not AuditEvent.objects.filter(action="processing.repayment.posted").exists()


def test_the_same_repayment_resent_under_a_new_key_is_booked_once(bank, credit_account):
    first = bank.post("/accounts/ACC-CRED/repayments", REPAYMENT)
    again = bank.post("/accounts/ACC-CRED/repayments", REPAYMENT)  # a fresh Idempotency-Key

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    credit_account.refresh_from_db()
    assert credit_account.balance_minor == -70_000
    assert Posting.objects.filter(account=credit_account).count() == 1
    assert len(audit_rows(bank.api_key, "processing.repayment.posted")) == 1


def test_a_retry_with_the_same_idempotency_key_replays_the_answer(bank, credit_account):
    first = bank.post("/accounts/ACC-CRED/repayments", REPAYMENT, key="repay-1")
    retry = bank.post("/accounts/ACC-CRED/repayments", REPAYMENT, key="repay-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry["Idempotent-Replayed"] == "true" and retry.content == first.content
    assert Posting.objects.filter(account=credit_account).count() == 1


def test_the_same_reference_with_other_content_or_as_a_bank_credit_is_a_conflict(bank, credit_account):
    bank.post("/accounts/ACC-CRED/repayments", REPAYMENT)

    other_amount = bank.post("/accounts/ACC-CRED/repayments", {**REPAYMENT, "amount_minor": 50_001})
    as_credit = bank.post(
        "/accounts/ACC-CRED/postings",
        {
            "reference": REPAYMENT["reference"],
            "direction": "credit",
            "amount_minor": 50_000,
            "currency": "PLN",
            "booking_date": "2026-11-27",
        },
    )

    assert (other_amount.status_code, as_credit.status_code) == (409, 409)
    assert other_amount.json()["code"] == as_credit.json()["code"] == "posting_reference_conflict"
    credit_account.refresh_from_db()
    assert credit_account.balance_minor == -70_000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "EUR"}, "currency"),
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": -5}, "amount_minor"),
        ({"amount_minor": "100"}, "amount_minor"),
        ({"amount_minor": MAX_AMOUNT_MINOR + 1}, "amount_minor"),
        ({"value_date": "2999-01-01"}, "value_date"),
        ({"value_date": "1899-12-31"}, "value_date"),
        ({"value_date": 20261127}, "value_date"),
        ({"reference": "has space"}, "reference"),
        ({"direction": "credit"}, "direction"),
    ],
)
def test_a_bad_repayment_is_a_422_naming_the_field_and_nothing_moves(bank, credit_account, change, field):
    response = bank.post("/accounts/ACC-CRED/repayments", {**REPAYMENT, **change})

    assert response.status_code == 422, response.json()
    assert field in errors_by_field(response)
    credit_account.refresh_from_db()
    assert credit_account.balance_minor == -120_000
    assert not Posting.objects.exists()


def test_another_banks_credit_account_is_404_and_untouched(bank):
    other_bank = bank_factory("BSB")
    other = account_factory(
        customer=customer_factory(bank=other_bank), bank=other_bank, reference="ACC-CRED", kind=AccountKind.CREDIT
    )

    response = bank.post("/accounts/ACC-CRED/repayments", REPAYMENT)

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.balance_minor == -120_000
    assert not Posting.objects.exists()


def test_a_repayment_needs_a_provisioning_key(anonymous, credit_account):
    assert anonymous.post("/accounts/ACC-CRED/repayments", REPAYMENT).status_code == 401
    assert not Posting.objects.exists()
