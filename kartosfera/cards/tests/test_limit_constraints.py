"""The database itself guards the limit invariants, whatever code writes the row."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from kartosfera.cards.models import Card, CardProduct

pytestmark = pytest.mark.django_db


def _refused(queryset, **values) -> bool:
    try:
        with transaction.atomic():
            queryset.update(**values)
    except IntegrityError:
        return True
    return False


def test_internet_limit_cannot_exceed_the_non_cash_limit(card):
    cards = Card.objects.filter(pk=card.pk)
    assert _refused(cards, internet_limit_minor=F("noncash_limit_minor") + 1)
    assert not _refused(cards, internet_limit_minor=F("noncash_limit_minor"))


@pytest.mark.parametrize("channel", ["cash", "noncash", "internet"])
def test_a_limit_cannot_exceed_its_product_maximum(card, channel):
    cards = Card.objects.filter(pk=card.pk)
    if channel == "internet":
        cards.update(noncash_limit_minor=F("noncash_limit_max_minor"))
    assert _refused(cards, **{f"{channel}_limit_minor": F(f"{channel}_limit_max_minor") + 1})
    assert not _refused(cards, **{f"{channel}_limit_minor": F(f"{channel}_limit_max_minor")})


@pytest.mark.parametrize(
    "field", ["cash_limit_minor", "noncash_limit_minor", "internet_limit_minor", "cash_limit_max_minor"]
)
def test_limits_cannot_be_negative(card, field):
    assert _refused(Card.objects.filter(pk=card.pk), **{field: -1})


def test_last4_must_be_four_digits(card):
    assert _refused(Card.objects.filter(pk=card.pk), pan_last4="12a4")


@pytest.mark.parametrize(
    "values",
    [
        {"cash_limit_default_minor": F("cash_limit_max_minor") + 1},
        {"noncash_limit_default_minor": F("noncash_limit_max_minor") + 1},
        {"internet_limit_max_minor": F("noncash_limit_max_minor") + 1},
        {"internet_limit_default_minor": F("noncash_limit_default_minor") + 1},
        {"cash_limit_max_minor": -1},
        {"brand": "amex"},
    ],
)
def test_product_invariants_are_enforced_by_the_database(debit_product, values):
    assert _refused(CardProduct.objects.filter(pk=debit_product.pk), **values)
