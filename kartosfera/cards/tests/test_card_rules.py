"""Issue 9's card rules in the services: bank blocks, the 60-day rule at read time, mobile payments off, reasons."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone, translation

from kartosfera.cards.models import Card
from kartosfera.cards.operations import OperationNotAllowed, card_state
from kartosfera.cards.operations_services import (
    card_activate,
    card_block_expire_due,
    card_block_temporarily,
    card_cancel,
    card_contactless_set,
    card_mobile_payments_activate,
    card_mobile_payments_deactivate,
    card_unblock,
)
from kartosfera.cards.services import card_renew, card_replace, card_transition
from kartosfera.cards.states import CUSTOMER_CANCEL_REASONS, STAFF_CANCEL_REASONS, CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.errors import InvalidTransition, ValidationFailed
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.testing.factories import card_factory, make_pan

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")
STAFF = Actor(type=ActorType.STAFF, id="0", label="agent")
API = Actor(type=ActorType.API_CLIENT, id="kfk_test", label="bank")


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


@pytest.fixture
def active(card) -> Card:
    return card_activate(actor=SYSTEM, card=card)


def _events(card: Card, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_id=str(card.pk)).order_by("id"))


# --- Bank blocks (point 11) ---------------------------------------------------------------


@pytest.mark.parametrize("actor", [STAFF, API, SYSTEM], ids=["staff", "api", "system"])
def test_a_block_by_the_bank_is_recorded_as_the_banks(active, actor):
    card = card_block_temporarily(actor=actor, card=active)

    card.refresh_from_db()
    assert (card.status, card.status_reason) == (CardStatus.BLOCKED, StatusReason.BLOCKED_BY_BANK)
    assert _events(card, "cards.card.blocked")[0].after["status_reason"] == StatusReason.BLOCKED_BY_BANK


def test_a_block_by_the_cardholder_is_the_cardholders_own(active):
    card = card_block_temporarily(actor=HOLDER, card=active)

    card.refresh_from_db()
    assert card.status_reason == StatusReason.BLOCKED_BY_CUSTOMER


def test_the_cardholder_cannot_lift_a_bank_block_and_the_refusal_is_audited(active):
    card_block_temporarily(actor=STAFF, card=active)

    with pytest.raises(OperationNotAllowed, match="only the bank can unblock it"):
        card_unblock(actor=HOLDER, card=active)

    active.refresh_from_db()
    assert active.status == CardStatus.BLOCKED
    (refusal,) = _events(active, "cards.card.operation_refused")
    assert refusal.after["operation"] == "unblock"


@pytest.mark.parametrize("actor", [STAFF, API], ids=["staff", "api"])
def test_the_bank_can_lift_its_own_block(active, actor):
    card_block_temporarily(actor=STAFF, card=active)

    card = card_unblock(actor=actor, card=active)

    assert (card.status, card.status_reason) == (CardStatus.ACTIVE, StatusReason.UNBLOCKED)


def test_the_bank_can_lift_the_cardholders_block_too(active):
    card_block_temporarily(actor=HOLDER, card=active)

    assert card_unblock(actor=STAFF, card=active).status == CardStatus.ACTIVE


def test_on_a_bank_block_the_cardholder_may_still_cancel_and_switch_things_off(active):
    card_mobile_payments_activate(actor=HOLDER, card=active)
    card_block_temporarily(actor=STAFF, card=active)

    card_contactless_set(actor=HOLDER, card=active, enabled=False)
    card_mobile_payments_deactivate(actor=HOLDER, card=active)
    card = card_cancel(actor=HOLDER, card=active, reason=StatusReason.STOLEN)

    assert (card.status, card.contactless_enabled, card.mobile_payments_enabled) == (
        CardStatus.CANCELLED,
        False,
        False,
    )


# --- The 60-day rule at read time (point 12) ------------------------------------------------


def _blocked_days_ago(card: Card, days: float, *, actor: Actor = HOLDER) -> Card:
    with time_machine.travel(timezone.now() - dt.timedelta(days=days), tick=False):
        return card_block_temporarily(actor=actor, card=card)


def test_unblock_refuses_a_block_older_than_60_days_before_the_job_runs(active):
    _blocked_days_ago(active, 60.01)

    for actor in (HOLDER, STAFF):
        with pytest.raises(OperationNotAllowed, match="blocked for more than 60 days"):
            card_unblock(actor=actor, card=active)

    active.refresh_from_db()
    assert active.status == CardStatus.BLOCKED  # nothing written: the job makes it permanent
    assert card_state(active) == "cancelled"
    status = active.status_now()
    assert (status.status, status.reason) == (CardStatus.CANCELLED, StatusReason.BLOCK_EXPIRED)
    assert status.changed_at == active.status_changed_at + dt.timedelta(days=60)


def test_a_block_of_59_days_can_still_be_unblocked(active):
    _blocked_days_ago(active, 59.9)

    assert card_unblock(actor=HOLDER, card=active).status == CardStatus.ACTIVE


def test_the_status_machine_itself_refuses_to_reopen_a_lapsed_block(active):
    _blocked_days_ago(active, 61)

    with pytest.raises(InvalidTransition):
        card_transition(actor=SYSTEM, card=active, to_status=CardStatus.ACTIVE, reason=StatusReason.UNBLOCKED)


def test_the_job_writes_the_cancellation_dated_when_the_block_ran_out(active):
    blocked = _blocked_days_ago(active, 75)
    ran_out = blocked.status_changed_at + dt.timedelta(days=60)

    assert card_block_expire_due() == 1

    active.refresh_from_db()
    assert (active.status, active.status_reason, active.status_changed_at) == (
        CardStatus.CANCELLED,
        StatusReason.BLOCK_EXPIRED,
        ran_out,
    )


def test_a_bank_block_does_not_lapse_and_the_job_leaves_it(active):
    blocked = _blocked_days_ago(active, 400, actor=STAFF)

    assert card_state(blocked) == "blocked_by_bank"
    assert card_block_expire_due() == 0
    assert card_unblock(actor=STAFF, card=active).status == CardStatus.ACTIVE


def test_a_lapsed_block_cannot_be_renewed(active):
    _blocked_days_ago(active, 61)

    with pytest.raises(InvalidTransition):
        card_renew(actor=SYSTEM, card=active, reference="RENEWAL-LAPSED")


def test_replacing_a_lapsed_card_records_the_lapse_not_the_replacement(active):
    blocked = _blocked_days_ago(active, 61)

    card_replace(actor=SYSTEM, card=active, reference="REPL-LAPSED", pan=make_pan("400000", 999_101))

    active.refresh_from_db()
    assert (active.status, active.status_reason) == (CardStatus.CANCELLED, StatusReason.BLOCK_EXPIRED)
    assert active.status_changed_at == blocked.status_changed_at + dt.timedelta(days=60)


def test_the_query_and_the_property_say_the_same_about_a_lapse(active, cardholder, debit_product):
    other = card_activate(actor=SYSTEM, card=card_factory(customer=cardholder.customer, product=debit_product))
    _blocked_days_ago(active, 60)
    _blocked_days_ago(other, 59)
    now = timezone.now()

    lapsed = set(Card.objects.block_lapsed(now).values_list("pk", flat=True))
    assert lapsed == {c.pk for c in Card.objects.all() if c.block_lapsed(now)} == {active.pk}


# --- Mobile payments (point 3) --------------------------------------------------------------


def test_cancelling_switches_mobile_payments_off_in_the_same_transaction(active):
    card_mobile_payments_activate(actor=HOLDER, card=active)

    card_cancel(actor=HOLDER, card=active, reason=StatusReason.LOST)

    active.refresh_from_db()
    assert active.mobile_payments_enabled is False
    (event,) = _events(active, "cards.card.cancelled")
    assert event.before["mobile_payments_enabled"] is True
    assert event.after["mobile_payments_enabled"] is False


def test_the_expiry_job_switches_mobile_payments_off_too(active):
    card_mobile_payments_activate(actor=HOLDER, card=active)
    _blocked_days_ago(active, 61)

    card_block_expire_due()

    active.refresh_from_db()
    assert (active.status, active.mobile_payments_enabled) == (CardStatus.CANCELLED, False)


def test_the_cardholder_switches_mobile_payments_off_with_an_audit_row(active):
    card_mobile_payments_activate(actor=HOLDER, card=active)

    card_mobile_payments_deactivate(actor=HOLDER, card=active)
    card_mobile_payments_deactivate(actor=HOLDER, card=active)  # already off: no second row

    active.refresh_from_db()
    assert active.mobile_payments_enabled is False
    (event,) = _events(active, "cards.card.mobile_payments_deactivated")
    assert (event.before, event.after) == ({"mobile_payments_enabled": True}, {"mobile_payments_enabled": False})
    assert event.actor_type == ActorType.CUSTOMER


def test_mobile_payments_can_be_switched_off_on_a_blocked_card(active):
    card_mobile_payments_activate(actor=HOLDER, card=active)
    card_block_temporarily(actor=HOLDER, card=active)

    assert card_mobile_payments_deactivate(actor=HOLDER, card=active).mobile_payments_enabled is False


# --- Cancellation reasons (point 18) --------------------------------------------------------


def test_the_bank_and_the_cardholder_have_their_own_cancellation_reasons():
    assert set(STAFF_CANCEL_REASONS) != set(CUSTOMER_CANCEL_REASONS)
    assert {
        StatusReason.HOLDER_REQUEST,
        StatusReason.COMPROMISED,
        StatusReason.FRAUD_SUSPECTED,
        StatusReason.BANK_DECISION,
    } <= set(STAFF_CANCEL_REASONS)


@pytest.mark.parametrize("reason", STAFF_CANCEL_REASONS)
def test_staff_cancel_with_the_banks_reasons(active, reason):
    card = card_cancel(actor=STAFF, card=active, reason=reason)

    card.refresh_from_db()
    assert (card.status, card.status_reason) == (CardStatus.CANCELLED, reason)


def test_staff_cannot_give_a_reason_that_only_the_cardholder_gives(active):
    with pytest.raises(ValidationFailed):
        card_cancel(actor=STAFF, card=active, reason=StatusReason.PIN_DISCLOSED)


def test_the_cardholder_cannot_give_the_banks_reasons(active):
    with pytest.raises(ValidationFailed):
        card_cancel(actor=HOLDER, card=active, reason=StatusReason.FRAUD_SUSPECTED)
    active.refresh_from_db()
    assert active.status == CardStatus.ACTIVE
