"""A credit product's terms: the legal maximum of interest, the ranges, debit products, the database's checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings

from kartosfera.cards.credit_terms import credit_terms_set, interest_rate_legal_max
from kartosfera.cards.models import CreditTerms, Funding
from kartosfera.cards.services import card_product_update
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.testing.factories import product_factory

pytestmark = pytest.mark.django_db

BANK = Actor.system("tests")
TERMS = {
    "interest_rate_percent": Decimal("18.50"),
    "grace_period_days": 25,
    "minimum_payment_percent": Decimal("3.00"),
    "minimum_payment_minor": 5_000,
    "cash_withdrawal_fee_percent": Decimal("3.50"),
    "cash_withdrawal_fee_min_minor": 1_000,
    "fx_markup_percent": Decimal("2.50"),
}
# A configured reference rate for the tests (configuration, not a claim about today's NBP rate).
NBP_5_75 = {"NBP_REFERENCE_RATE_PERCENT": Decimal("5.75"), "NBP_REFERENCE_RATE_SINCE": dt.date(2023, 10, 5)}


@pytest.fixture
def credit_product():
    return product_factory(funding=Funding.CREDIT, name="Visa Credit")


def refused_fields(**changes) -> set[str]:
    product = product_factory(funding=Funding.CREDIT)
    with pytest.raises(ValidationFailed) as refused:
        credit_terms_set(actor=BANK, product=product, **{**TERMS, **changes})
    assert not CreditTerms.objects.filter(product=product).exists()
    return set(refused.value.field_errors)


@pytest.mark.parametrize(
    ("reference", "maximum"),
    [("5.75", "18.50"), ("0", "7.0"), ("4.25", "15.50"), ("10.00", "27.00")],
)
def test_the_legal_maximum_is_twice_the_reference_rate_plus_three_and_a_half_points(reference, maximum):
    with override_settings(NBP_REFERENCE_RATE_PERCENT=Decimal(reference)):
        assert interest_rate_legal_max() == Decimal(maximum)


@override_settings(**NBP_5_75)
def test_an_interest_rate_at_the_legal_maximum_is_taken_and_one_hundredth_above_it_is_refused(credit_product):
    terms = credit_terms_set(actor=BANK, product=credit_product, **TERMS)
    assert terms.interest_rate_percent == Decimal("18.50")

    with pytest.raises(ValidationFailed) as refused:
        credit_terms_set(actor=BANK, product=credit_product, interest_rate_percent=Decimal("18.51"))
    message = refused.value.field_errors["credit_terms.interest_rate_percent"]
    assert "18,50" in message and "5,75" in message  # in the default language's numbers (Polish)
    terms.refresh_from_db()
    assert terms.interest_rate_percent == Decimal("18.50")


@override_settings(NBP_REFERENCE_RATE_PERCENT=Decimal("4.00"))
def test_a_lower_reference_rate_lowers_the_maximum_a_new_rate_may_have(credit_product):
    # 2 x (4.00 + 3.5) = 15.00: the terms set under a higher rate are checked again on their next change.
    assert "credit_terms.interest_rate_percent" in refused_fields(interest_rate_percent=Decimal("15.01"))
    assert credit_terms_set(actor=BANK, product=credit_product, **{**TERMS, "interest_rate_percent": Decimal(15)})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"interest_rate_percent": Decimal("-0.01")}, "interest_rate_percent"),
        ({"interest_rate_percent": Decimal("10.005")}, "interest_rate_percent"),
        ({"grace_period_days": 61}, "grace_period_days"),
        ({"grace_period_days": -1}, "grace_period_days"),
        ({"minimum_payment_percent": Decimal(0)}, "minimum_payment_percent"),
        ({"minimum_payment_percent": Decimal("100.01")}, "minimum_payment_percent"),
        ({"minimum_payment_minor": -1}, "minimum_payment_minor"),
        ({"cash_withdrawal_fee_percent": Decimal("100.01")}, "cash_withdrawal_fee_percent"),
        ({"cash_withdrawal_fee_min_minor": -1}, "cash_withdrawal_fee_min_minor"),
        ({"fx_markup_percent": Decimal("-1")}, "fx_markup_percent"),
        ({"fx_markup_percent": Decimal("NaN")}, "fx_markup_percent"),
    ],
)
def test_terms_out_of_their_range_are_refused_with_the_field_named(change, field):
    assert refused_fields(**change) == {f"credit_terms.{field}"}


def test_the_edges_of_each_range_are_taken(credit_product):
    edges = {
        **TERMS,
        "interest_rate_percent": Decimal(0),
        "grace_period_days": 60,
        "minimum_payment_percent": Decimal(100),
        "minimum_payment_minor": 0,
        "cash_withdrawal_fee_percent": Decimal(0),
        "fx_markup_percent": Decimal(100),
    }
    terms = credit_terms_set(actor=BANK, product=credit_product, **edges)
    terms.refresh_from_db()
    assert (terms.grace_period_days, terms.minimum_payment_percent) == (60, Decimal(100))


def test_a_debit_product_has_no_terms():
    debit = product_factory(funding=Funding.DEBIT)

    with pytest.raises(ValidationFailed) as refused:
        credit_terms_set(actor=BANK, product=debit, **TERMS)

    assert set(refused.value.field_errors) == {"credit_terms"}
    assert not CreditTerms.objects.exists()


def test_the_first_terms_need_every_field_and_later_ones_change_only_what_is_sent(credit_product):
    with pytest.raises(ValidationFailed) as refused:
        credit_terms_set(actor=BANK, product=credit_product, interest_rate_percent=Decimal(10))
    assert "credit_terms.grace_period_days" in refused.value.field_errors

    credit_terms_set(actor=BANK, product=credit_product, **TERMS)
    card_product_update(actor=BANK, product=credit_product, credit_terms={"grace_period_days": 21})

    terms = CreditTerms.objects.get(product=credit_product)
    assert (terms.grace_period_days, terms.interest_rate_percent) == (21, Decimal("18.50"))
    first, second = AuditEvent.objects.filter(action="cards.credit_terms.set").order_by("id")
    assert first.after["interest_rate_percent"] == "18.50"
    assert first.after["nbp_reference_rate_percent"] == "5.75"
    assert (second.before, {k: v for k, v in second.after.items() if not k.startswith("nbp_")}) == (
        {"grace_period_days": 25},
        {"grace_period_days": 21},
    )


def test_the_same_terms_again_change_nothing_and_write_no_audit_row(credit_product):
    credit_terms_set(actor=BANK, product=credit_product, **TERMS)
    credit_terms_set(actor=BANK, product=credit_product, interest_rate_percent=Decimal("18.5"))

    assert AuditEvent.objects.filter(action="cards.credit_terms.set").count() == 1


@pytest.mark.parametrize(
    ("change", "constraint"),
    [
        ({"grace_period_days": 61}, "credit_terms_grace_period_range"),
        ({"minimum_payment_percent": Decimal(0)}, "credit_terms_minimum_payment_percent_range"),
        ({"interest_rate_percent": Decimal("100.01")}, "credit_terms_interest_rate_range"),
        ({"cash_withdrawal_fee_min_minor": -1}, "cash_withdrawal_fee_min_minor_gte_0"),
        ({"fx_markup_percent": Decimal("-0.01")}, "credit_terms_fx_markup_percent_range"),
    ],
)
def test_the_database_refuses_terms_out_of_range_written_past_the_service(credit_product, change, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        CreditTerms.objects.create(product=credit_product, **{**TERMS, **change})
