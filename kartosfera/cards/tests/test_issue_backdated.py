from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kartosfera.cards.models import last_day_of_month
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.errors import InvalidTransition, ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.testing.factories import card_factory

pytestmark = pytest.mark.django_db


def test_a_card_issued_years_ago_counts_its_validity_from_the_issue_date(cardholder, debit_product):
    today = timezone.localdate()
    issued_on = dt.date(today.year - 5, today.month, 1)

    card = card_factory(customer=cardholder.customer, product=debit_product, issued_on=issued_on)

    assert card.expiry == last_day_of_month(today.year - 1, today.month)
    assert card.is_expired()
    assert card.status == CardStatus.INACTIVE
    assert AuditEvent.objects.get(action="cards.card.issued").after["issued_on"] == issued_on.isoformat()


def test_an_expired_backdated_card_can_only_be_cancelled(cardholder, debit_product):
    today = timezone.localdate()
    card = card_factory(customer=cardholder.customer, product=debit_product, issued_on=dt.date(today.year - 5, 1, 1))
    with pytest.raises(InvalidTransition):
        card_transition(actor=Actor.system(), card=card, to_status=CardStatus.ACTIVE, reason=StatusReason.ACTIVATED)


def test_an_issue_date_in_the_future_is_refused(cardholder, debit_product):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as exc:
        card_factory(customer=cardholder.customer, product=debit_product, issued_on=tomorrow)
    assert set(exc.value.field_errors) == {"issued_on"}


def test_a_card_cannot_expire_before_its_issue_date(cardholder, debit_product):
    with pytest.raises(ValidationFailed) as exc:
        card_factory(
            customer=cardholder.customer,
            product=debit_product,
            issued_on=dt.date(2022, 6, 15),
            expiry=dt.date(2022, 5, 1),
        )
    assert set(exc.value.field_errors) == {"expiry"}


def test_the_issue_date_defaults_to_today(card):
    event = AuditEvent.objects.get(action="cards.card.issued")
    assert event.after["issued_on"] == timezone.localdate().isoformat()
