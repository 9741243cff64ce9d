"""Factories that build realistic, valid, repeatable data through the services."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.conf import settings

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.accounts.services import account_create
from kartosfera.banks.models import Bank
from kartosfera.banks.services import bank_create
from kartosfera.cards.models import Brand, Card, CardProduct, Funding, Segment
from kartosfera.cards.services import card_issue, card_product_create
from kartosfera.core.audit import Actor
from kartosfera.customers.models import Customer, Residency
from kartosfera.customers.services import customer_create
from kartosfera.demo.identifiers import make_pan, make_pesel
from kartosfera.users.models import User, UserKind

_sequence = itertools.count(1)
SYSTEM = Actor.system("tests")
DEFAULT_PASSWORD = "Zielona-herbata-o-poranku"  # noqa: S105 - test data


def bank_factory(code: str = "", **overrides: Any) -> Bank:
    """A bank of the group; the same one for every call with the same code (by default settings.DEFAULT_BANK_CODE)."""
    code = code or settings.DEFAULT_BANK_CODE
    existing = Bank.objects.filter(code=code).first()
    if existing is not None:
        return existing
    values: dict[str, Any] = {
        "name": f"Bank Spółdzielczy {code}",
        "short_name": f"BS {code}",
        "sms_sender": code[:11],
    }
    values.update(overrides)
    return bank_create(actor=SYSTEM, code=code, **values)


def customer_factory(**overrides: Any) -> Customer:
    n = next(_sequence)
    values: dict[str, Any] = {
        "actor": SYSTEM,
        "bank": overrides.pop("bank", None) or bank_factory(),
        "reference": f"CIF{n:06d}",
        "residency": Residency.RESIDENT,
        "first_name": "Anna",
        "last_name": "Nowak",
        "pesel": make_pesel(dt.date(1985, 3, 14), n, female=True),
        "phone_on_file": f"+4860{n:07d}",
    }
    values.update(overrides)
    if values["residency"] == Residency.NON_RESIDENT:
        values.pop("pesel", None)
        values.setdefault("nonresident_id", f"NR{n:06d}")
    return customer_create(**values)


def account_factory(*, customer: Customer, kind: str = AccountKind.DEBIT, **overrides: Any) -> Account:
    n = next(_sequence)
    values: dict[str, Any] = {
        "actor": SYSTEM,
        "bank": overrides.pop("bank", None) or bank_factory(),
        "customer": customer,
        "reference": f"ACC{n:06d}",
        "kind": kind,
        "balance_minor": 523_410,
    }
    if kind == AccountKind.CREDIT:
        values.update(credit_limit_minor=1_000_000, billing_day=10, balance_minor=-120_000)
    values.update(overrides)
    return account_create(**values)


def product_factory(**overrides: Any) -> CardProduct:
    n = next(_sequence)
    values: dict[str, Any] = {
        "actor": SYSTEM,
        "bank": overrides.pop("bank", None) or bank_factory(),
        "code": f"PRD{n:04d}",
        "name": "Visa Debit",
        "brand": Brand.VISA,
        "funding": Funding.DEBIT,
        "segment": Segment.INDIVIDUAL,
        "cash_limit_max_minor": 1_000_000,
        "noncash_limit_max_minor": 3_000_000,
        "internet_limit_max_minor": 3_000_000,
        "cash_limit_default_minor": 200_000,
        "noncash_limit_default_minor": 500_000,
        "internet_limit_default_minor": 0,
    }
    values.update(overrides)
    return card_product_create(**values)


def card_factory(
    *,
    customer: Customer,
    product: CardProduct | None = None,
    account: Account | None = None,
    **overrides: Any,
) -> Card:
    n = next(_sequence)
    product = product or product_factory()
    if account is None:
        kind = AccountKind.CREDIT if product.funding == Funding.CREDIT else AccountKind.DEBIT
        account = account_factory(customer=customer, kind=kind, currency=product.currency, bank=product.bank)
    prefix = "400000" if product.brand == Brand.VISA else "555555"
    values: dict[str, Any] = {
        "actor": SYSTEM,
        "reference": f"CARD{n:06d}",
        "product": product,
        "account": account,
        "customer": customer,
        "pan": make_pan(prefix, 100_000 + n),
        "embossed_name": f"{customer.first_name} {customer.last_name}"[:26],
    }
    values.update(overrides)
    return card_issue(**values)


def cardholder_user_factory(*, customer: Customer, password: str = DEFAULT_PASSWORD, **extra: Any) -> User:
    # Registration copies the phone on file to the portal phone; so does the factory.
    extra.setdefault("portal_phone", customer.phone_on_file)
    return User.objects.create_user(
        username=f"c{customer.pk}", password=password, kind=UserKind.CUSTOMER, customer=customer, **extra
    )
