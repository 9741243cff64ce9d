from __future__ import annotations

import pytest

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.api.tests.conftest import audit_rows, errors_by_field
from kartosfera.testing.factories import account_factory, customer_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return customer_factory(reference="CIF-ACC-OWNER")


def test_the_bank_opens_a_debit_account(bank, owner):
    response = bank.post(
        "/accounts",
        {"reference": "ACC-1", "customer": "CIF-ACC-OWNER", "kind": "debit", "balance_minor": 523_410, "iban": "PL61"},
    )

    assert response.status_code == 201, response.json()
    account = Account.objects.get(reference="ACC-1")
    assert (account.customer, account.kind, account.balance_minor, account.currency) == (
        owner,
        AccountKind.DEBIT,
        523_410,
        "PLN",
    )
    body = response.json()
    assert body["customer"] == "CIF-ACC-OWNER"
    assert (body["balance_minor"], body["currency"], body["available_funds_minor"]) == (523_410, "PLN", 523_410)
    assert body["credit_limit_minor"] is None and body["billing_day"] is None
    [row] = audit_rows(bank.api_key, "accounts.account.created")
    assert row.customer_id == owner.pk


def test_the_bank_opens_a_credit_account_with_its_terms(bank, owner):
    response = bank.post(
        "/accounts",
        {
            "reference": "ACC-CR-1",
            "customer": "CIF-ACC-OWNER",
            "kind": "credit",
            "currency": "PLN",
            "balance_minor": -120_000,
            "credit_limit_minor": 1_000_000,
            "billing_day": 10,
        },
    )

    assert response.status_code == 201, response.json()
    assert response.json()["available_funds_minor"] == 880_000
    assert Account.objects.get(reference="ACC-CR-1").billing_day == 10


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "credit", "billing_day": 10}, "credit_limit_minor"),  # a credit account needs a limit
        ({"kind": "credit", "credit_limit_minor": 1000, "billing_day": 31}, "billing_day"),
        ({"kind": "debit", "credit_limit_minor": 1000}, "credit_limit_minor"),  # debit has no limit
        ({"kind": "savings"}, "kind"),
        ({"kind": "debit", "currency": "USD"}, "currency"),
        ({"kind": "debit", "balance_minor": 12.5}, "balance_minor"),  # money is whole minor units
        ({"kind": "debit", "balance_minor": "100"}, "balance_minor"),
        ({"kind": "debit", "balance_minor": 2**70}, "balance_minor"),
        ({"kind": "debit", "customer": "NO-SUCH-CUSTOMER"}, "customer"),
        ({"kind": "debit", "iban": "X" * 35}, "iban"),
    ],
)
def test_an_invalid_account_is_refused_with_the_field_named(bank, owner, body, field):
    response = bank.post("/accounts", {"reference": "ACC-BAD", "customer": "CIF-ACC-OWNER", **body})

    assert response.status_code == 422, response.json()
    assert field in errors_by_field(response)
    assert not Account.objects.filter(reference="ACC-BAD").exists()


def test_a_second_account_with_the_same_reference_is_a_conflict(bank, owner):
    account_factory(customer=owner, reference="ACC-DUP")

    response = bank.post("/accounts", {"reference": "ACC-DUP", "customer": "CIF-ACC-OWNER", "kind": "debit"})

    assert response.status_code == 409


def test_the_bank_reads_an_account(bank, owner):
    account_factory(customer=owner, reference="ACC-READ", kind=AccountKind.CREDIT)

    response = bank.get("/accounts/ACC-READ")

    assert response.status_code == 200
    assert response.json()["kind"] == "credit"
    assert response.json()["credit_limit_minor"] == 1_000_000


def test_an_unknown_account_is_404(bank):
    assert bank.get("/accounts/NO-SUCH").status_code == 404
    assert bank.patch("/accounts/NO-SUCH", {"credit_limit_minor": 1}).status_code == 404


def test_the_bank_reports_a_new_credit_limit_and_billing_day(bank, owner):
    account = account_factory(customer=owner, reference="ACC-UPD", kind=AccountKind.CREDIT)

    response = bank.patch("/accounts/ACC-UPD", {"credit_limit_minor": 2_000_000, "billing_day": 15})

    assert response.status_code == 200, response.json()
    account.refresh_from_db()
    assert (account.balance_minor, account.credit_limit_minor, account.billing_day) == (-120_000, 2_000_000, 15)
    assert response.json()["available_funds_minor"] == 1_880_000
    assert response.json()["opening_balance_minor"] == -120_000
    [row] = audit_rows(bank.api_key, "accounts.account.updated")
    assert row.before == {"billing_day": 10, "credit_limit_minor": 1_000_000}
    assert row.after == {"billing_day": 15, "credit_limit_minor": 2_000_000}


def test_the_balance_cannot_be_overwritten_and_the_answer_says_where_to_post(bank, owner):
    """A balance computed by the bank a moment ago would silently undo a card payment posted meanwhile (0013)."""
    account = account_factory(customer=owner, reference="ACC-OVERWRITE", kind=AccountKind.CREDIT)

    response = bank.patch("/accounts/ACC-OVERWRITE", {"balance_minor": -50_000, "credit_limit_minor": 2_000_000})

    assert response.status_code == 422, response.json()
    assert "/postings" in errors_by_field(response)["balance_minor"]
    account.refresh_from_db()
    assert (account.balance_minor, account.credit_limit_minor) == (-120_000, 1_000_000)
    assert audit_rows(bank.api_key, "accounts.account.updated") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"balance_minor": None}, "balance_minor"),
        ({"balance_minor": 1}, "balance_minor"),
        ({"iban": None}, "iban"),
        ({"credit_limit_minor": 1000}, "credit_limit_minor"),  # a debit account has no credit limit
        ({"billing_day": 5}, "billing_day"),
        ({"kind": "credit"}, "kind"),  # not changeable
        ({"balance_minor": True}, "balance_minor"),
    ],
)
def test_an_invalid_account_update_changes_nothing(bank, owner, body, field):
    account = account_factory(customer=owner, reference="ACC-UPD-BAD")

    response = bank.patch("/accounts/ACC-UPD-BAD", body)

    assert response.status_code == 422, response.json()
    assert field in errors_by_field(response)
    account.refresh_from_db()
    assert (account.balance_minor, account.credit_limit_minor, account.iban) == (523_410, None, "")
    assert audit_rows(bank.api_key, "accounts.account.updated") == []
