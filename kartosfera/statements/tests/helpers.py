"""A credit card with terms, and ways to move its account's money, for the statements' tests."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import time_machine

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.banks.models import Bank
from kartosfera.cards.credit_terms import credit_terms_set
from kartosfera.cards.models import Card, CardProduct, Funding
from kartosfera.core.audit import Actor
from kartosfera.demo.identifiers import make_pan
from kartosfera.processing.clearing import ClearingRecord, RecordOutcome, clearing_post_record
from kartosfera.processing.ledger import Direction, bank_posting_record, repayment_record
from kartosfera.processing.models import Channel, Posting
from kartosfera.testing import factories

WARSAW = ZoneInfo("Europe/Warsaw")
TERMS: dict[str, Any] = {
    "interest_rate_percent": Decimal("18.50"),
    "grace_period_days": 25,
    "minimum_payment_percent": Decimal("5.00"),
    "minimum_payment_minor": 5_000,
    "cash_withdrawal_fee_percent": Decimal("3.00"),
    "cash_withdrawal_fee_min_minor": 1_000,
    "fx_markup_percent": Decimal("2.00"),
}
_references = itertools.count(1)


@dataclass
class CreditCard:
    card: Card
    account: Account
    product: CardProduct
    pan: str

    def refresh(self) -> Account:
        self.account.refresh_from_db()
        return self.account


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=WARSAW)


def credit_card(
    *,
    opened: dt.date,
    billing_day: int = 10,
    balance_minor: int = 0,
    customer: Any = None,
    bank: Bank | None = None,
    **terms: Any,
) -> CreditCard:
    """A credit card opened on ``opened`` (Warsaw) with the test terms (``terms`` overrides some), of ``bank``
    (default: the tests' bank)."""
    with time_machine.travel(at(opened), tick=False):
        bank = bank or factories.bank_factory()
        customer = customer or factories.customer_factory(bank=bank)
        product = factories.product_factory(name="Visa Credit", funding=Funding.CREDIT, bank=bank)
        credit_terms_set(actor=factories.SYSTEM, product=product, **{**TERMS, **terms})
        account = factories.account_factory(
            customer=customer,
            bank=bank,
            kind=AccountKind.CREDIT,
            billing_day=billing_day,
            balance_minor=balance_minor,
            credit_limit_minor=1_000_000,
        )
        # Serials of their own: processing's card_of counts from 500,000, and one test may make both kinds of card.
        pan = make_pan("400000", 600_000 + next(_references))
        card = factories.card_factory(customer=customer, product=product, account=account, pan=pan)
    return CreditCard(card=card, account=account, product=product, pan=pan)


def spend(cc: CreditCard, amount_minor: int, day: dt.date) -> Posting:
    """A debit booked on ``day`` (the bank's debit: the same ledger line a settled payment makes)."""
    with time_machine.travel(at(day), tick=False):
        return bank_posting_record(
            actor=factories.SYSTEM,
            account=cc.account,
            reference=f"D{next(_references)}",
            direction=Direction.DEBIT,
            amount_minor=amount_minor,
            currency=cc.account.currency,
            description="Zakup",
            booking_date=day,
        ).posting


def repay(cc: CreditCard, amount_minor: int, day: dt.date, *, booked: dt.date | None = None) -> Posting:
    """A repayment with value date ``day``, booked on ``booked`` (default: the same day)."""
    with time_machine.travel(at(booked or day), tick=False):
        return repayment_record(
            actor=factories.SYSTEM,
            account=cc.account,
            reference=f"R{next(_references)}",
            amount_minor=amount_minor,
            currency=cc.account.currency,
            value_date=day,
        ).posting


def pay_by_card(
    cc: CreditCard,
    amount_minor: int,
    day: dt.date,
    *,
    currency: str = "PLN",
    billing_amount_minor: int | None = None,
    channel: str = Channel.POS_CHIP,
    mcc: str = "5411",
    merchant: str = "Biedronka",
    merchant_city: str = "Warszawa",
    merchant_country: str = "PL",
    billing_rate: Decimal | None = None,
) -> Posting:
    """A card payment settled on ``day`` (a force post of the card scheme's clearing: the same card posting)."""
    converted = currency != cc.account.currency
    with time_machine.travel(at(day), tick=False):
        result = clearing_post_record(
            actor=Actor.system("clearing"),
            record=ClearingRecord(
                record_id=f"clr-stmt-{next(_references)}",
                kind="force_post",
                amount_minor=amount_minor,
                currency=currency,
                processing_date=day,
                pan=cc.pan,
                expiry=cc.card.expiry,
                billing_amount_minor=billing_amount_minor if converted else None,
                billing_currency=cc.account.currency if converted else None,
                billing_rate=billing_rate if converted else None,
                merchant_name=merchant,
                merchant_city=merchant_city,
                merchant_country=merchant_country,
                mcc=mcc,
                channel=channel,
                acquirer_reference_number="74567890123456789012345",
            ),
        )
    assert result.outcome == RecordOutcome.POSTED, result
    assert result.posting is not None
    return result.posting
