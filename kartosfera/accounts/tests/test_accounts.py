from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.accounts.services import account_update
from kartosfera.core.audit import Actor
from kartosfera.core.errors import Conflict, ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.core.money import Money
from kartosfera.testing.factories import account_factory

SYSTEM = Actor.system("tests")
pytestmark = pytest.mark.django_db


def test_a_credit_account_has_a_limit_and_a_billing_day(cardholder):
    account = account_factory(customer=cardholder.customer, kind=AccountKind.CREDIT)
    assert account.credit_limit == Money(1_000_000, "PLN")
    assert account.available_funds == Money(1_000_000 - 120_000, "PLN")


def test_a_debit_account_has_neither(cardholder):
    with pytest.raises(ValidationFailed) as exc:
        account_factory(customer=cardholder.customer, kind=AccountKind.DEBIT, credit_limit_minor=100, billing_day=3)
    assert set(exc.value.field_errors) == {"credit_limit_minor", "billing_day"}


@pytest.mark.parametrize("billing_day", [0, 29, None])
def test_billing_day_is_between_1_and_28(cardholder, billing_day):
    with pytest.raises(ValidationFailed):
        account_factory(customer=cardholder.customer, kind=AccountKind.CREDIT, billing_day=billing_day)


def test_an_account_the_bank_opened_earlier_keeps_its_opening_day_and_the_audit_says_so(cardholder):
    opened = timezone.now() - dt.timedelta(days=95)
    account = account_factory(customer=cardholder.customer, kind=AccountKind.CREDIT, opened_at=opened)
    account.refresh_from_db()
    assert account.created_at == opened
    event = AuditEvent.objects.get(action="accounts.account.created", object_id=str(account.pk))
    assert event.after["opened_at"] == opened.isoformat()
    # Without it, the account is opened now.
    before = timezone.now()
    assert account_factory(customer=cardholder.customer).created_at >= before


def test_an_account_is_never_opened_in_the_future(cardholder):
    later = timezone.now() + dt.timedelta(minutes=5)
    with pytest.raises(ValidationFailed) as exc:
        account_factory(customer=cardholder.customer, opened_at=later)
    assert set(exc.value.field_errors) == {"opened_at"}
    assert not Account.objects.exists()


def test_duplicate_reference_is_a_conflict(cardholder):
    account = account_factory(customer=cardholder.customer)
    with pytest.raises(Conflict):
        account_factory(customer=cardholder.customer, reference=account.reference)


def test_updates_are_audited_with_before_and_after(cardholder):
    account = account_factory(customer=cardholder.customer, kind=AccountKind.CREDIT)
    account_update(actor=SYSTEM, account=account, credit_limit_minor=2_000_000, iban="PL61")
    account.refresh_from_db()
    assert (account.credit_limit_minor, account.iban) == (2_000_000, "PL61")
    event = AuditEvent.objects.get(action="accounts.account.updated")
    assert event.before == {"credit_limit_minor": 1_000_000, "iban": ""}
    assert event.after == {"credit_limit_minor": 2_000_000, "iban": "PL61"}


def test_an_account_opens_with_its_balance_as_the_start_of_its_ledger(cardholder):
    account = account_factory(customer=cardholder.customer, balance_minor=12_345)
    assert (account.balance_minor, account.opening_balance_minor) == (12_345, 12_345)


def test_the_balance_is_never_overwritten_it_moves_only_by_postings(cardholder):
    """A silent overwrite would lose the card postings made since the bank computed its figure (0013)."""
    account = account_factory(customer=cardholder.customer, balance_minor=100)

    with pytest.raises(ValidationFailed) as exc:
        account_update(actor=SYSTEM, account=account, balance_minor=-2500, iban="PL61")

    assert "postings" in exc.value.field_errors["balance_minor"]
    account.refresh_from_db()
    assert (account.balance_minor, account.iban) == (100, "")
    assert not AuditEvent.objects.filter(action="accounts.account.updated").exists()


def test_the_database_refuses_credit_terms_on_a_debit_account_and_a_negative_limit(cardholder):
    debit = account_factory(customer=cardholder.customer)
    credit = account_factory(customer=cardholder.customer, kind=AccountKind.CREDIT)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=debit.pk).update(credit_limit_minor=100)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=credit.pk).update(credit_limit_minor=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=credit.pk).update(currency="USD")


def test_money_is_integer_minor_units_and_formats_polish_style():
    from django.utils import translation

    with pytest.raises(TypeError):
        Money(12.5, "PLN")  # type: ignore[arg-type]
    with translation.override("pl"):
        assert Money(123_456, "PLN").format() == "1\xa0234,56\xa0zł"
        assert Money(-5, "EUR").format() == "-0,05\xa0EUR"
    with translation.override("en"):
        assert Money(123_456, "PLN").format() == "PLN\xa01,234.56"
