"""Every cell of the status machine, through the service that enforces it."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine
from django.db import IntegrityError

from kartosfera.cards.models import Card
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import ALLOWED_TRANSITIONS, REASONS_FOR_TARGET, CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.errors import InvalidTransition, ValidationFailed
from kartosfera.core.models import AuditEvent

SYSTEM = Actor.system("tests")
ALL_STATES = list(CardStatus)
EXPECTED = {
    (CardStatus.INACTIVE, CardStatus.ACTIVE),
    (CardStatus.INACTIVE, CardStatus.CANCELLED),
    (CardStatus.ACTIVE, CardStatus.BLOCKED),
    (CardStatus.ACTIVE, CardStatus.CANCELLED),
    (CardStatus.BLOCKED, CardStatus.ACTIVE),
    (CardStatus.BLOCKED, CardStatus.CANCELLED),
}
A_REASON = {
    CardStatus.ACTIVE: StatusReason.ACTIVATED,
    CardStatus.BLOCKED: StatusReason.BLOCKED_BY_CUSTOMER,
    CardStatus.CANCELLED: StatusReason.LOST,
    CardStatus.INACTIVE: StatusReason.ISSUED,
}


def test_the_table_is_exactly_the_product_rules():
    allowed = {(src, dst) for src, targets in ALLOWED_TRANSITIONS.items() for dst in targets}
    assert allowed == EXPECTED


def _card_in(card: Card, status: str) -> Card:
    """Bring a fresh card into ``status`` along allowed paths."""
    path = {
        CardStatus.INACTIVE: [],
        CardStatus.ACTIVE: [CardStatus.ACTIVE],
        CardStatus.BLOCKED: [CardStatus.ACTIVE, CardStatus.BLOCKED],
        CardStatus.CANCELLED: [CardStatus.CANCELLED],
    }[status]
    for step in path:
        card = card_transition(actor=SYSTEM, card=card, to_status=step, reason=A_REASON[step])
    return card


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), list(itertools.product(ALL_STATES, ALL_STATES)))
def test_each_transition_is_allowed_or_refused(card, source, target):
    card = _card_in(card, source)
    events_before = AuditEvent.objects.count()
    if (source, target) in EXPECTED:
        card = card_transition(actor=SYSTEM, card=card, to_status=target, reason=A_REASON[target])
        card.refresh_from_db()
        assert card.status == target
        event = AuditEvent.objects.latest("id")
        assert event.action == f"cards.card.{target}"
        assert event.before["status"] == source and event.after["status"] == target
        assert event.object_id == str(card.pk)
    else:
        with pytest.raises(InvalidTransition):
            card_transition(actor=SYSTEM, card=card, to_status=target, reason=A_REASON[target])
        card.refresh_from_db()
        assert card.status == source
        assert AuditEvent.objects.count() == events_before


@pytest.mark.django_db
def test_a_reason_must_fit_the_target_status(card):
    with pytest.raises(ValidationFailed):
        card_transition(actor=SYSTEM, card=card, to_status=CardStatus.CANCELLED, reason=StatusReason.ACTIVATED)
    assert StatusReason.LOST in REASONS_FOR_TARGET[CardStatus.CANCELLED]


@pytest.mark.django_db
def test_an_expired_card_can_only_be_cancelled(card):
    card = _card_in(card, CardStatus.ACTIVE)
    after_expiry = dt.datetime.combine(card.expiry + dt.timedelta(days=1), dt.time(12, 0), tzinfo=dt.UTC)
    with time_machine.travel(after_expiry, tick=False):
        assert card.is_expired()
        with pytest.raises(InvalidTransition):
            card_transition(actor=SYSTEM, card=card, to_status=CardStatus.BLOCKED, reason=StatusReason.BLOCKED_BY_BANK)
        card = card_transition(actor=SYSTEM, card=card, to_status=CardStatus.CANCELLED, reason=StatusReason.OTHER)
    assert card.status == CardStatus.CANCELLED


@pytest.mark.django_db
def test_a_card_is_valid_through_the_last_day_of_its_expiry_month(card):
    assert card.expiry.day in {28, 29, 30, 31}
    last_day = dt.datetime.combine(card.expiry, dt.time(23, 0), tzinfo=dt.UTC)
    with time_machine.travel(last_day, tick=False):
        assert not card.is_expired(card.expiry)
    assert card.is_expired(card.expiry + dt.timedelta(days=1))


@pytest.mark.django_db
def test_the_database_accepts_only_statuses_of_the_machine(card):
    with pytest.raises(IntegrityError):
        Card.objects.filter(pk=card.pk).update(status="frozen")


@pytest.mark.django_db
def test_the_database_refuses_a_cancellation_without_a_cancellation_reason(card):
    with pytest.raises(IntegrityError):
        Card.objects.filter(pk=card.pk).update(status=CardStatus.CANCELLED, status_reason=StatusReason.ACTIVATED)
