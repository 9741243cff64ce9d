"""A credit product's terms through the provisioning API: create, read back, update, refusals (docs/api.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from kartosfera.api.tests.conftest import audit_rows, errors_by_field
from kartosfera.api.tests.test_card_products import product_body
from kartosfera.cards.models import CardProduct, CreditTerms, Funding
from kartosfera.testing.factories import bank_factory, product_factory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nbp_5_75")]

TERMS = {
    "interest_rate_percent": "18.50",
    "grace_period_days": 25,
    "minimum_payment_percent": "3",
    "minimum_payment_minor": 5_000,
    "cash_withdrawal_fee_percent": "3.5",
    "cash_withdrawal_fee_min_minor": 1_000,
    "fx_markup_percent": "2.50",
}
TERMS_OUT = {**TERMS, "minimum_payment_percent": "3.00", "cash_withdrawal_fee_percent": "3.50"}


@pytest.fixture
def nbp_5_75():
    # A configured reference rate (configuration, not a claim about today's NBP rate): maximum 18.50 %.
    with override_settings(NBP_REFERENCE_RATE_PERCENT=Decimal("5.75")):
        yield


def test_the_bank_defines_a_credit_product_with_its_terms_and_reads_them_back(bank):
    created = bank.post("/card-products", product_body(credit_terms=TERMS))

    assert created.status_code == 201, created.json()
    assert created.json()["credit_terms"] == TERMS_OUT
    assert bank.get("/card-products/MC-GOLD").json()["credit_terms"] == TERMS_OUT
    terms = CreditTerms.objects.get(product__code="MC-GOLD")
    assert terms.interest_rate_percent == Decimal("18.50")
    [row] = audit_rows(bank.api_key, "cards.credit_terms.set")
    assert row.after["fx_markup_percent"] == "2.50"


def test_a_debit_product_reads_null_terms_and_refuses_them(bank):
    debit = bank.post("/card-products", product_body(code="VD", funding="debit"))
    assert debit.json()["credit_terms"] is None

    refused = bank.post("/card-products", product_body(code="VD-2", funding="debit", credit_terms=TERMS))

    assert refused.status_code == 422
    assert "debetowy" in errors_by_field(refused)["credit_terms"]  # the message in Polish, the default language
    assert not CardProduct.objects.filter(code="VD-2").exists()  # nothing half-written


def test_an_interest_rate_above_the_legal_maximum_is_a_422_that_says_why_and_creates_nothing(bank):
    response = bank.post(
        "/card-products",
        product_body(credit_terms={**TERMS, "interest_rate_percent": "18.51"}),
        **{"Accept-Language": "en"},
    )

    assert response.status_code == 422, response.json()
    message = errors_by_field(response)["credit_terms.interest_rate_percent"]
    assert "legal maximum of 18.50%" in message
    assert not CardProduct.objects.filter(code="MC-GOLD").exists()
    assert not audit_rows(bank.api_key, "cards.product.created")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"interest_rate_percent": "abc"}, "interest_rate_percent"),
        ({"interest_rate_percent": 18.5}, "interest_rate_percent"),  # a float would round: text only
        ({"interest_rate_percent": "-1"}, "interest_rate_percent"),
        ({"interest_rate_percent": "1.234"}, "interest_rate_percent"),
        ({"grace_period_days": 61}, "grace_period_days"),
        ({"grace_period_days": -1}, "grace_period_days"),
        ({"minimum_payment_percent": "0"}, "minimum_payment_percent"),
        ({"minimum_payment_percent": "100.01"}, "minimum_payment_percent"),
        ({"minimum_payment_minor": -1}, "minimum_payment_minor"),
        ({"cash_withdrawal_fee_percent": "101"}, "cash_withdrawal_fee_percent"),
        ({"fx_markup_percent": None}, "fx_markup_percent"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_terms_are_a_422_naming_the_field_never_a_500(bank, change, field):
    response = bank.post("/card-products", product_body(credit_terms={**TERMS, **change}))

    assert response.status_code == 422, response.json()
    assert any(name.endswith(field) for name in errors_by_field(response)), errors_by_field(response)
    assert not CardProduct.objects.filter(code="MC-GOLD").exists()


def test_an_update_changes_only_the_terms_it_sends(bank):
    bank.post("/card-products", product_body(credit_terms=TERMS))

    response = bank.patch("/card-products/MC-GOLD", {"credit_terms": {"grace_period_days": 20}})

    assert response.status_code == 200, response.json()
    assert response.json()["credit_terms"] == {**TERMS_OUT, "grace_period_days": 20}


def test_a_credit_product_without_terms_gets_all_of_them_by_an_update(bank):
    bank.post("/card-products", product_body())

    partial = bank.patch("/card-products/MC-GOLD", {"credit_terms": {"grace_period_days": 20}})
    assert partial.status_code == 422
    assert "credit_terms.interest_rate_percent" in errors_by_field(partial)

    full = bank.patch("/card-products/MC-GOLD", {"credit_terms": TERMS})
    assert full.status_code == 200
    assert full.json()["credit_terms"] == TERMS_OUT


def test_a_refused_update_changes_neither_the_terms_nor_the_product(bank):
    bank.post("/card-products", product_body(credit_terms=TERMS))

    response = bank.patch(
        "/card-products/MC-GOLD", {"name": "Renamed", "credit_terms": {"interest_rate_percent": "30"}}
    )

    assert response.status_code == 422
    product = CardProduct.objects.get(code="MC-GOLD")
    assert product.name == "Mastercard Gold"
    assert product.credit_terms.interest_rate_percent == Decimal("18.50")


def test_another_banks_key_reaches_neither_the_product_nor_its_terms(bank):
    other = bank_factory("BSB")
    product = product_factory(bank=other, code="MC-GOLD", funding=Funding.CREDIT)

    assert bank.get("/card-products/MC-GOLD").status_code == 404
    assert bank.patch("/card-products/MC-GOLD", {"credit_terms": TERMS}).status_code == 404
    assert not CreditTerms.objects.filter(product=product).exists()
