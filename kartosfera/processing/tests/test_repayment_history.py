"""A credit account's repayments in its card's history: "Spłata" / "Repayment", a credit (docs/statements.md)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kartosfera.cards.models import Funding, Segment
from kartosfera.core.audit import Actor
from kartosfera.processing.ledger import repayment_record
from kartosfera.processing.models import PostingKind
from kartosfera.processing.selectors import posting_history
from kartosfera.processing.tests.helpers import card_of, decide
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db

BANK = Actor.system("core banking")


def _rows(client, card) -> list[tuple[str, str, str]]:
    response = client.get(reverse("portal:card_history", args=[card.pk]))
    assert response.status_code == 200
    return [(row.status, row.merchant, row.amount.replace("\xa0", " ")) for row in response.context["rows"]]


@pytest.fixture
def anna(client, cardholder):
    client.force_login(cardholder.user)
    return client


def test_the_holder_sees_a_repayment_as_a_credit_on_the_credit_cards_history(anna, cardholder, credit_product):
    credit = card_of(cardholder.customer, credit_product)
    decide(credit, amount_minor=4_250)
    repayment_record(actor=BANK, account=credit.card.account, reference="SPL-1", amount_minor=123_456, currency="PLN")

    rows = _rows(anna, credit.card)

    # The label is the posting kind's, in the holder's language ("Spłata" once the Polish text is in).
    assert rows[0] == ("repayment", str(PostingKind.REPAYMENT.label), "+1 234,56 zł")
    assert rows[1][0] == "pending"
    response = anna.get(reverse("portal:card_history", args=[credit.card.pk]))
    assert str(PostingKind.REPAYMENT.label) in response.content.decode()


def test_a_repayment_shows_only_on_the_cards_of_its_account_and_not_to_an_additional_cards_holder(
    anna, cardholder, second_cardholder, credit_product, debit_product
):
    # A business card: the one kind whose account's owner may give a card to another person (an employee).
    business_credit = factories.product_factory(funding=Funding.CREDIT, segment=Segment.BUSINESS)
    credit = card_of(cardholder.customer, business_credit)
    other_credit = card_of(cardholder.customer, credit_product)  # another credit account of Anna's
    debit = card_of(cardholder.customer, debit_product)
    additional = factories.card_factory(
        customer=second_cardholder.customer, product=business_credit, account=credit.card.account
    )
    repayment_record(actor=BANK, account=credit.card.account, reference="SPL-2", amount_minor=10_000, currency="PLN")

    assert [row[0] for row in _rows(anna, credit.card)] == ["repayment"]
    assert _rows(anna, other_credit.card) == []
    assert _rows(anna, debit.card) == []
    # The additional card's holder (an employee) is not the debtor: the selector gives them none.
    assert not posting_history(customer=second_cardholder.customer, card=additional).exists()
    assert posting_history(customer=cardholder.customer, card=credit.card).count() == 1
