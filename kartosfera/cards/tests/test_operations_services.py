"""The card operation services: state changes, audit rows (refusals too) and the 60-day block expiry."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone, translation

from kartosfera.cards.models import Card
from kartosfera.cards.operations import OperationNotAllowed
from kartosfera.cards.operations_services import (
    card_activate,
    card_block_expire_due,
    card_block_temporarily,
    card_cancel,
    card_contactless_set,
    card_limits_change,
    card_unblock,
)
from kartosfera.cards.services import card_renew, card_replace
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.cards.tasks import card_block_expire_due_task
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.testing.factories import card_factory, make_pan, product_factory
from kartosfera.testing.tasks import Queued

SYSTEM = Actor.system("tests")
# The cardholder's own actions (a block by SYSTEM would be the bank's, which the holder cannot lift).
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_english():
    # The reasons are checked in their English source; the Polish ones are checked by the page tests.
    with translation.override("en"):
        yield


def _events(card: Card, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_id=str(card.pk)).order_by("id"))


@pytest.fixture
def active(card) -> Card:
    return card_activate(actor=SYSTEM, card=card)


def test_activating_an_inactive_card_makes_it_active_with_an_audit_row(card):
    card = card_activate(actor=SYSTEM, card=card)

    card.refresh_from_db()
    assert (card.status, card.status_reason) == (CardStatus.ACTIVE, StatusReason.ACTIVATED)
    assert _events(card, "cards.card.active")[0].after["status_reason"] == StatusReason.ACTIVATED


def test_activating_a_renewal_cancels_the_card_it_renews_in_the_same_transaction(active):
    renewal = card_renew(actor=SYSTEM, card=active, reference="RENEWAL-1")

    card_activate(actor=SYSTEM, card=renewal)

    active.refresh_from_db()
    renewal.refresh_from_db()
    assert renewal.status == CardStatus.ACTIVE
    assert (active.status, active.status_reason) == (CardStatus.CANCELLED, StatusReason.RENEWED)
    assert _events(active, "cards.card.cancelled")[0].after["status_reason"] == StatusReason.RENEWED


def test_activating_a_replacement_leaves_the_already_cancelled_card_as_it_was(active):
    replacement = card_replace(actor=SYSTEM, card=active, reference="REPL-1", pan=make_pan("400000", 999_001))
    active.refresh_from_db()
    assert active.status_reason == StatusReason.REPLACED

    card_activate(actor=SYSTEM, card=replacement)

    assert len(_events(active, "cards.card.cancelled")) == 1


def test_a_blocked_predecessor_is_cancelled_when_its_renewal_is_activated(active):
    renewal = card_renew(actor=SYSTEM, card=active, reference="RENEWAL-2")
    card_block_temporarily(actor=HOLDER, card=active)

    card_activate(actor=SYSTEM, card=renewal)

    active.refresh_from_db()
    assert (active.status, active.status_reason) == (CardStatus.CANCELLED, StatusReason.RENEWED)


def test_a_block_takes_effect_at_once_and_keeps_the_note(active):
    card = card_block_temporarily(actor=HOLDER, card=active, note="  zostawiona na siłowni ")

    card.refresh_from_db()
    assert (card.status, card.status_reason) == (CardStatus.BLOCKED, StatusReason.BLOCKED_BY_CUSTOMER)
    assert card.block_note == "zostawiona na siłowni"
    assert _events(card, "cards.card.blocked")[0].after["block_note"] == "zostawiona na siłowni"
    assert card.block_expires_at() == card.status_changed_at + dt.timedelta(days=60)


def test_a_note_longer_than_200_characters_is_refused_and_nothing_changes(active):
    with pytest.raises(ValidationFailed):
        card_block_temporarily(actor=HOLDER, card=active, note="x" * 201)
    active.refresh_from_db()
    assert active.status == CardStatus.ACTIVE


def test_unblocking_reactivates_the_card_and_clears_the_note(active):
    card_block_temporarily(actor=HOLDER, card=active, note="gdzieś w domu")

    card = card_unblock(actor=SYSTEM, card=active)

    card.refresh_from_db()
    assert (card.status, card.status_reason, card.block_note) == (CardStatus.ACTIVE, StatusReason.UNBLOCKED, "")
    assert card.block_expires_at() is None


def test_a_refusal_is_audited_even_though_the_operation_rolled_back(active):
    with pytest.raises(OperationNotAllowed):
        card_unblock(actor=SYSTEM, card=active)

    (event,) = _events(active, "cards.card.operation_refused")
    assert event.after["operation"] == "unblock"
    assert event.after["reason"] == "operation_not_allowed"
    assert event.customer_id == active.customer_id


def test_cancelling_is_final_and_needs_a_cardholder_reason(active):
    with pytest.raises(ValidationFailed):
        card_cancel(actor=SYSTEM, card=active, reason=StatusReason.BLOCK_EXPIRED)
    assert _events(active, "cards.card.operation_refused")[0].after["operation"] == "cancel"

    card = card_cancel(actor=SYSTEM, card=active, reason=StatusReason.STOLEN)

    assert (card.status, card.status_reason) == (CardStatus.CANCELLED, StatusReason.STOLEN)
    for again in (card_unblock, card_activate, card_block_temporarily):
        with pytest.raises(OperationNotAllowed):
            again(actor=SYSTEM, card=card)
    with pytest.raises(OperationNotAllowed):
        card_cancel(actor=SYSTEM, card=card, reason=StatusReason.LOST)


def test_an_inactive_card_can_be_cancelled_but_not_blocked(card):
    with pytest.raises(OperationNotAllowed):
        card_block_temporarily(actor=HOLDER, card=card)
    assert card_cancel(actor=SYSTEM, card=card, reason=StatusReason.LOST).status == CardStatus.CANCELLED


def test_contactless_off_and_on_again_with_audit_rows(active):
    card_contactless_set(actor=SYSTEM, card=active, enabled=False)
    active.refresh_from_db()
    assert active.contactless_enabled is False
    card_contactless_set(actor=SYSTEM, card=active, enabled=True)
    active.refresh_from_db()
    assert active.contactless_enabled is True
    assert len(_events(active, "cards.card.contactless_disabled")) == 1
    assert len(_events(active, "cards.card.contactless_enabled")) == 1


def test_contactless_cannot_be_set_where_the_product_lacks_it(cardholder):
    product = product_factory(contactless_capable=False)
    card = card_activate(actor=SYSTEM, card=card_factory(customer=cardholder.customer, product=product))

    with pytest.raises(OperationNotAllowed, match="does not support contactless"):
        card_contactless_set(actor=SYSTEM, card=card, enabled=True)
    assert _events(card, "cards.card.operation_refused")[0].after["operation"] == "contactless_on"


def test_lowering_limits_reports_no_raise_and_raising_reports_one(active):
    lowered = card_limits_change(actor=SYSTEM, card=active, limits={"cash": 100_000, "noncash": 400_000, "internet": 0})
    assert lowered is False
    assert card_limits_change(
        actor=SYSTEM, card=active, limits={"cash": 100_000, "noncash": 400_000, "internet": 200_000}
    )
    active.refresh_from_db()
    assert (active.cash_limit_minor, active.noncash_limit_minor, active.internet_limit_minor) == (
        100_000,
        400_000,
        200_000,
    )
    event = _events(active, "cards.card.limits_changed")[-1]
    assert event.before == {"internet_limit_minor": 0}
    assert event.after == {"internet_limit_minor": 200_000}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"cash": -1, "noncash": 0, "internet": 0}, "cash"),
        ({"cash": 1_000_001, "noncash": 0, "internet": 0}, "cash"),
        ({"cash": 0, "noncash": 3_000_001, "internet": 0}, "noncash"),
        ({"cash": 0, "noncash": 100, "internet": 101}, "internet"),
    ],
)
def test_limits_outside_the_rules_are_refused_and_nothing_changes(active, values, field):
    with pytest.raises(ValidationFailed) as refused:
        card_limits_change(actor=SYSTEM, card=active, limits=values)
    assert field in refused.value.field_errors
    active.refresh_from_db()
    assert active.cash_limit_minor == 200_000
    assert _events(active, "cards.card.limits_changed") == []
    assert len(_events(active, "cards.card.operation_refused")) == 1


def test_a_business_card_cannot_change_its_limits(business_user, business_product):
    card = card_activate(actor=SYSTEM, card=card_factory(customer=business_user.customer, product=business_product))
    with pytest.raises(OperationNotAllowed, match="business card"):
        card_limits_change(actor=SYSTEM, card=card, limits={"cash": 0, "noncash": 0, "internet": 0})


def test_a_blocked_card_cannot_change_its_limits(active):
    card_block_temporarily(actor=HOLDER, card=active)
    with pytest.raises(OperationNotAllowed):
        card_limits_change(actor=SYSTEM, card=active, limits={"cash": 0, "noncash": 0, "internet": 0})


def test_a_block_of_60_days_turns_into_a_cancellation_once(active, cardholder, debit_product):
    start = timezone.now()
    with time_machine.travel(start - dt.timedelta(days=60, minutes=1), tick=False):
        card_block_temporarily(actor=HOLDER, card=active)
    recent = card_activate(actor=SYSTEM, card=card_factory(customer=cardholder.customer, product=debit_product))
    with time_machine.travel(start - dt.timedelta(days=59), tick=False):
        card_block_temporarily(actor=HOLDER, card=recent)

    assert card_block_expire_due(now=start) == 1
    assert card_block_expire_due(now=start) == 0

    active.refresh_from_db()
    recent.refresh_from_db()
    assert (active.status, active.status_reason) == (CardStatus.CANCELLED, StatusReason.BLOCK_EXPIRED)
    assert recent.status == CardStatus.BLOCKED
    (event,) = _events(active, "cards.card.cancelled")
    assert event.actor_type == "system"


def test_the_expiry_job_works_through_more_cards_than_one_batch(cardholder, debit_product):
    long_ago = timezone.now() - dt.timedelta(days=61)
    cards = [
        card_activate(actor=SYSTEM, card=card_factory(customer=cardholder.customer, product=debit_product))
        for _ in range(3)
    ]
    with time_machine.travel(long_ago, tick=False):
        for card in cards:
            card_block_temporarily(actor=HOLDER, card=card)

    assert card_block_expire_due(batch_size=2) == 3
    assert Card.objects.filter(status=CardStatus.BLOCKED).count() == 0


def test_the_command_and_the_task_run_the_expiry(active):
    with time_machine.travel(timezone.now() - dt.timedelta(days=61), tick=False):
        card_block_temporarily(actor=HOLDER, card=active)
    out = StringIO()
    call_command("expire_card_blocks", stdout=out)
    assert "Cancelled 1 card(s)" in out.getvalue()

    result = card_block_expire_due_task.enqueue()
    assert result.return_value == 0


@pytest.mark.django_db(transaction=True)
def test_the_expiry_task_runs_on_each_production_queue_and_returns_its_count(active, task_queue):
    with time_machine.travel(timezone.now() - dt.timedelta(days=61), tick=False):
        card_block_temporarily(actor=HOLDER, card=active)
    task_queue.work()  # whatever the block queued (its notices)

    result = card_block_expire_due_task.enqueue()
    assert task_queue.queued() == [Queued("card_block_expire_due_task", args=[], run_after=None)]
    task_queue.work()

    active.refresh_from_db()
    assert (active.status, active.status_reason) == (CardStatus.CANCELLED, StatusReason.BLOCK_EXPIRED)
    result.refresh()
    assert result.return_value == 1  # the worker's result, read back from the queue
