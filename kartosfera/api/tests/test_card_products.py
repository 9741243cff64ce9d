from __future__ import annotations

import pytest

from kartosfera.api.tests.conftest import audit_rows, errors_by_field
from kartosfera.cards.models import CardProduct
from kartosfera.testing.factories import card_factory, customer_factory, product_factory

pytestmark = pytest.mark.django_db


def product_body(**overrides):
    body = {
        "code": "MC-GOLD",
        "name": "Mastercard Gold",
        "brand": "mastercard",
        "funding": "credit",
        "segment": "individual",
        "cash_limit_max_minor": 1_000_000,
        "noncash_limit_max_minor": 3_000_000,
        "internet_limit_max_minor": 3_000_000,
        "cash_limit_default_minor": 200_000,
        "noncash_limit_default_minor": 500_000,
    }
    body.update(overrides)
    return body


def test_the_bank_defines_a_card_product(bank):
    response = bank.post("/card-products", product_body(contactless_capable=False, validity_months=36))

    assert response.status_code == 201, response.json()
    product = CardProduct.objects.get(code="MC-GOLD")
    assert (product.brand, product.funding, product.contactless_capable, product.validity_months) == (
        "mastercard",
        "credit",
        False,
        36,
    )
    body = response.json()
    assert body["internet_limit_default_minor"] == 0
    assert body["currency"] == "PLN"
    assert len(audit_rows(bank.api_key, "cards.product.created")) == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"internet_limit_max_minor": 3_000_001}, "internet_limit_max_minor"),  # internet is part of non-cash
        ({"cash_limit_default_minor": 1_000_001}, "cash_limit_default_minor"),  # default above the maximum
        ({"cash_limit_max_minor": -1}, "cash_limit_max_minor"),
        ({"validity_months": 0}, "validity_months"),
        ({"brand": "amex"}, "brand"),
        ({"name": "   "}, "name"),
        ({"code": "has space"}, "code"),
        ({"code": "a/b"}, "code"),
        ({"contactless_capable": "yes"}, "contactless_capable"),
        ({"cash_limit_max_minor": None}, "cash_limit_max_minor"),
    ],
)
def test_an_invalid_product_is_refused(bank, overrides, field):
    response = bank.post("/card-products", product_body(**overrides))

    assert response.status_code == 422, response.json()
    assert field in errors_by_field(response)
    assert not CardProduct.objects.exists()


def test_a_second_product_with_the_same_code_is_a_conflict(bank):
    product_factory(code="MC-GOLD")

    assert bank.post("/card-products", product_body()).status_code == 409


def test_the_bank_reads_a_product(bank):
    product_factory(code="VISA-CLASSIC", name="Visa Classic")

    response = bank.get("/card-products/VISA-CLASSIC")

    assert response.status_code == 200
    assert response.json()["name"] == "Visa Classic"


def test_an_unknown_product_is_404(bank):
    assert bank.get("/card-products/NOPE").status_code == 404
    assert bank.patch("/card-products/NOPE", {"name": "X"}).status_code == 404


def test_lowering_a_product_maximum_brings_its_cards_down(bank):
    product = product_factory(code="VISA-CLASSIC")
    card = card_factory(customer=customer_factory(), product=product)
    assert card.cash_limit_minor == 200_000

    response = bank.patch(
        "/card-products/VISA-CLASSIC", {"cash_limit_max_minor": 150_000, "cash_limit_default_minor": 0}
    )

    assert response.status_code == 200, response.json()
    product.refresh_from_db()
    card.refresh_from_db()
    assert product.cash_limit_max_minor == 150_000
    assert (card.cash_limit_max_minor, card.cash_limit_minor) == (150_000, 150_000)
    assert len(audit_rows(bank.api_key, "cards.product.updated")) == 1
    assert len(audit_rows(bank.api_key, "cards.card.product_terms_applied")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({"validity_months": None}, "validity_months"),
        ({"contactless_capable": None}, "contactless_capable"),
        ({"internet_limit_max_minor": 99_000_000}, "internet_limit_max_minor"),
        ({"brand": "visa"}, "brand"),  # not changeable
    ],
)
def test_an_invalid_product_update_changes_nothing(bank, body, field):
    product_factory(code="VISA-CLASSIC", name="Visa Classic")

    response = bank.patch("/card-products/VISA-CLASSIC", body)

    assert response.status_code == 422, response.json()
    assert field in errors_by_field(response)
    assert CardProduct.objects.get(code="VISA-CLASSIC").name == "Visa Classic"
    assert audit_rows(bank.api_key, "cards.product.updated") == []
