"""POST /accounts/{reference}/postings: the bank's credits and debits move the balance (docs/decisions/0013)."""

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
from kartosfera.testing.factories import account_factory, customer_factory

pytestmark = pytest.mark.django_db

SALARY = {
    "reference": "TRN-2026-000451",
    "direction": "credit",
    "amount_minor": 650_000,
    "currency": "PLN",
    "description": "Wynagrodzenie 11/2026",
    "booking_date": "2026-11-27",
}


@pytest.fixture
def account(db) -> Account:
    return account_factory(customer=customer_factory(reference="CIF-POST"), reference="ACC-POST", balance_minor=10_000)


def ledger_total(account: Account) -> int:
    return Posting.objects.filter(account=account).aggregate(total=Sum("balance_change_minor"))["total"] or 0


def test_the_bank_credits_a_salary_and_the_balance_moves_by_it(bank, account):
    response = bank.post("/accounts/ACC-POST/postings", SALARY)

    assert response.status_code == 201, response.json()
    assert response.json() == {
        "reference": "TRN-2026-000451",
        "account": "ACC-POST",
        "direction": "credit",
        "amount_minor": 650_000,
        "currency": "PLN",
        "balance_change_minor": 650_000,
        "description": "Wynagrodzenie 11/2026",
        "booking_date": "2026-11-27",
        "created_at": response.json()["created_at"],
    }
    account.refresh_from_db()
    assert account.balance_minor == 660_000 == account.opening_balance_minor + ledger_total(account)
    posting = Posting.objects.get(account=account)
    assert (posting.kind, posting.card_id, posting.record_id) == (PostingKind.BANK_CREDIT, None, None)
    assert posting.processing_date == dt.date(2026, 11, 27)
    [row] = audit_rows(bank.api_key, "processing.bank_posting.posted")
    assert row.customer_id == account.customer_id
    assert row.after["balance_after_minor"] == 660_000 and row.after["direction"] == "credit"
    assert "description" not in row.after  # the customer's words stay on the posting


def test_a_debit_may_take_the_balance_below_zero_the_bank_has_booked_it(bank, account):
    response = bank.post(
        "/accounts/ACC-POST/postings",
        {"reference": "TRN-DEBIT-1", "direction": "debit", "amount_minor": 25_000, "currency": "PLN"},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["balance_change_minor"] == -25_000
    assert response.json()["booking_date"] == timezone.localdate().isoformat()  # default: today
    account.refresh_from_db()
    assert account.balance_minor == -15_000


def test_the_same_reference_resent_under_a_new_key_books_nothing_twice(bank, account):
    first = bank.post("/accounts/ACC-POST/postings", SALARY)
    again = bank.post("/accounts/ACC-POST/postings", {**SALARY})  # the client fills in a fresh Idempotency-Key

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    account.refresh_from_db()
    assert account.balance_minor == 660_000
    assert Posting.objects.filter(account=account).count() == 1
    assert len(audit_rows(bank.api_key, "processing.bank_posting.posted")) == 1


def test_a_retry_with_the_same_idempotency_key_replays_the_answer(bank, account):
    first = bank.post("/accounts/ACC-POST/postings", SALARY, key="salary-key-1")
    retry = bank.post("/accounts/ACC-POST/postings", SALARY, key="salary-key-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.content == first.content and retry["Idempotent-Replayed"] == "true"
    assert Posting.objects.filter(account=account).count() == 1


def test_the_same_reference_with_other_content_is_a_conflict_and_moves_nothing(bank, account):
    bank.post("/accounts/ACC-POST/postings", SALARY)

    response = bank.post("/accounts/ACC-POST/postings", {**SALARY, "amount_minor": 700_000})

    assert response.status_code == 409
    assert response.json()["code"] == "posting_reference_conflict"
    account.refresh_from_db()
    assert account.balance_minor == 660_000


def test_both_legs_of_a_transfer_may_share_one_reference(bank, account):
    other = account_factory(customer=customer_factory(), reference="ACC-POST-2", balance_minor=0)
    leg = {"reference": "TRN-TRANSFER-9", "amount_minor": 5_000, "currency": "PLN"}

    debit = bank.post("/accounts/ACC-POST/postings", {**leg, "direction": "debit"})
    credit = bank.post("/accounts/ACC-POST-2/postings", {**leg, "direction": "credit"})

    assert (debit.status_code, credit.status_code) == (201, 201)
    account.refresh_from_db()
    other.refresh_from_db()
    assert (account.balance_minor, other.balance_minor) == (5_000, 5_000)


def test_an_unknown_account_is_404_and_nothing_is_written(bank, account):
    response = bank.post("/accounts/NO-SUCH-ACCOUNT/postings", SALARY)

    assert response.status_code == 404
    assert not Posting.objects.exists()
    assert not AuditEvent.objects.filter(action="processing.bank_posting.posted").exists()


def test_a_posting_reaches_only_the_account_in_its_path(bank, account):
    """Another customer's account is never touched by a posting named for this one."""
    bystander = account_factory(customer=customer_factory(), reference="ACC-BYSTANDER", balance_minor=77_000)

    bank.post("/accounts/ACC-POST/postings", SALARY)

    bystander.refresh_from_db()
    assert bystander.balance_minor == 77_000
    assert not Posting.objects.filter(account=bystander).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "EUR"}, "currency"),  # not the account's currency
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": -5}, "amount_minor"),
        ({"amount_minor": 12.5}, "amount_minor"),
        ({"amount_minor": "100"}, "amount_minor"),
        ({"amount_minor": MAX_AMOUNT_MINOR + 1}, "amount_minor"),
        ({"direction": "sideways"}, "direction"),
        ({"booking_date": "2999-01-01"}, "booking_date"),
        ({"booking_date": "1899-12-31"}, "booking_date"),
        ({"description": "x" * 141}, "description"),
        ({"description": "nul\x00"}, "description"),
        ({"reference": "has space"}, "reference"),
        ({"balance_minor": 5}, "balance_minor"),
    ],
)
def test_a_bad_posting_is_refused_with_the_field_named_and_nothing_moves(bank, account, change, field):
    response = bank.post("/accounts/ACC-POST/postings", {**SALARY, **change})

    assert response.status_code == 422, response.json()
    assert field in errors_by_field(response)
    account.refresh_from_db()
    assert account.balance_minor == 10_000
    assert not Posting.objects.exists()


def test_a_posting_that_would_take_the_balance_beyond_the_cap_is_refused(bank):
    account_factory(customer=customer_factory(), reference="ACC-RICH", balance_minor=MAX_AMOUNT_MINOR - 10)

    response = bank.post(
        "/accounts/ACC-RICH/postings",
        {"reference": "TRN-TOO-MUCH", "direction": "credit", "amount_minor": 11, "currency": "PLN"},
    )

    assert response.status_code == 422
    assert "amount_minor" in errors_by_field(response)
    assert Account.objects.get(reference="ACC-RICH").balance_minor == MAX_AMOUNT_MINOR - 10


def test_a_credit_account_is_repaid_by_a_posting(bank):
    account_factory(customer=customer_factory(), reference="ACC-CREDIT-REPAY", kind=AccountKind.CREDIT)

    response = bank.post(
        "/accounts/ACC-CREDIT-REPAY/postings",
        {"reference": "REPAY-1", "direction": "credit", "amount_minor": 120_000, "currency": "PLN"},
    )

    assert response.status_code == 201
    account = Account.objects.get(reference="ACC-CREDIT-REPAY")
    assert (account.balance_minor, account.available_minor) == (0, 1_000_000)


def test_a_posting_needs_an_api_key_with_the_provisioning_scope(anonymous, account):
    assert anonymous.post("/accounts/ACC-POST/postings", SALARY).status_code == 401
    assert not Posting.objects.exists()
