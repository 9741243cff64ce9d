"""'Stop everything': the services, their audit rows, and what happens to tokens and BLIK (docs/stop-everything.md)."""

from __future__ import annotations

import pytest

from kartosfera.blik.models import BlikChange, BlikChannel
from kartosfera.blik.selectors import blik_state
from kartosfera.blik.services import BlikPaymentsStopped, blik_switch_off, blik_switch_on
from kartosfera.cards.operations_services import (
    card_activate,
    card_block_temporarily,
    card_mobile_payments_activate,
    card_unblock,
)
from kartosfera.core.audit import Actor
from kartosfera.core.errors import InvalidTransition, ValidationFailed
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.models import Customer, StopChannel
from kartosfera.devices.services import device_block_temporarily, device_unblock
from kartosfera.devices.tests.helpers import device_for
from kartosfera.stops.services import (
    PaymentsAlreadyStopped,
    PaymentsNotStopped,
    customer_stop,
    customer_stop_lift,
)
from kartosfera.testing import factories
from kartosfera.testing.tokens import token_factory
from kartosfera.tokens.models import Token, TokenServiceCommand
from kartosfera.tokens.services import ProviderEvent, token_provider_event, token_resume, token_suspend
from kartosfera.tokens.states import SuspendedBy, TokenStatus, Wallet

pytestmark = pytest.mark.django_db

BANK = Actor.system("tests")
STAFF = Actor(type=ActorType.STAFF, id="77", label="agent")


@pytest.fixture
def holder(cardholder) -> Actor:
    return Actor.for_user(cardholder.user)


@pytest.fixture
def payable_card(card):
    return card_mobile_payments_activate(actor=BANK, card=card_activate(actor=BANK, card=card))


def _fresh(obj):
    obj.refresh_from_db()
    return obj


def _token_state(token: Token) -> tuple[str, str]:
    token.refresh_from_db()
    return token.status, token.suspended_by


def test_stopping_records_who_when_and_how_with_its_audit_row(cardholder, holder):
    customer = customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    stored = Customer.objects.get(pk=customer.pk)
    assert stored.payments_stopped and stored.payments_stop_channel == StopChannel.PORTAL
    assert stored.payments_stopped_by == "" and stored.payments_stop_reason == ""
    event = AuditEvent.objects.get(action="stops.payments.stopped")
    assert event.customer_id == customer.pk and event.actor_type == ActorType.CUSTOMER
    assert event.before["stopped"] is False
    assert event.after["stopped"] is True and event.after["channel"] == "portal"
    assert event.after["blik_switched_off"] is True


def test_stopping_twice_is_refused_and_changes_nothing(cardholder, holder):
    customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    with pytest.raises(PaymentsAlreadyStopped):
        customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.APP)

    assert Customer.objects.get(pk=cardholder.customer.pk).payments_stop_channel == StopChannel.PORTAL
    assert AuditEvent.objects.filter(action="stops.payments.stopped").count() == 1


def test_the_bank_stops_only_with_a_reason_and_is_named_in_the_stop(cardholder):
    with pytest.raises(ValidationFailed):
        customer_stop(actor=STAFF, customer=cardholder.customer, channel=StopChannel.BACK_OFFICE)
    assert not Customer.objects.get(pk=cardholder.customer.pk).payments_stopped

    customer_stop(actor=STAFF, customer=cardholder.customer, channel=StopChannel.BACK_OFFICE, reason="Phone stolen")

    stored = Customer.objects.get(pk=cardholder.customer.pk)
    assert (stored.payments_stopped_by, stored.payments_stop_reason) == ("77", "Phone stolen")


def test_lifting_clears_the_stop_with_its_audit_row_and_lifting_again_is_refused(cardholder, holder):
    customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    customer_stop_lift(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    stored = Customer.objects.get(pk=cardholder.customer.pk)
    assert not stored.payments_stopped and stored.payments_stop_channel == ""
    event = AuditEvent.objects.get(action="stops.payments.stop_lifted")
    assert event.customer_id == stored.pk
    assert event.before["stopped"] is True and event.after["stopped"] is False
    with pytest.raises(PaymentsNotStopped):
        customer_stop_lift(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)


# --- BLIK --------------------------------------------------------------------------------------


def test_stopping_switches_blik_off_through_its_own_path_and_a_portal_lift_leaves_it_off(
    cardholder, holder, django_capture_on_commit_callbacks
):
    assert blik_state(cardholder.customer).enabled

    with django_capture_on_commit_callbacks() as callbacks:
        customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    assert not blik_state(cardholder.customer).enabled
    change = BlikChange.objects.get()
    assert (change.enabled, change.channel, change.detail) == (False, BlikChannel.PORTAL, "stop everything")
    assert callbacks, "the BLIK system's sync is enqueued after commit"
    assert AuditEvent.objects.filter(action="blik.service.switched_off").count() == 1

    customer_stop_lift(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    assert not blik_state(cardholder.customer).enabled


def test_a_lift_in_the_app_switches_blik_back_on_only_if_the_stop_switched_it_off(cardholder, holder):
    customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.APP)
    customer_stop_lift(actor=holder, customer=cardholder.customer, channel=StopChannel.APP)
    assert blik_state(cardholder.customer).enabled
    assert BlikChange.objects.filter(enabled=True, channel=BlikChannel.APP).count() == 1

    # BLIK off before the stop: the holder's own choice stays.
    blik_switch_off(actor=holder, customer=cardholder.customer, channel=BlikChannel.PORTAL)
    customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.APP)
    customer_stop_lift(actor=holder, customer=cardholder.customer, channel=StopChannel.APP)
    assert not blik_state(cardholder.customer).enabled


def test_blik_cannot_be_switched_on_while_everything_is_stopped(cardholder, holder):
    customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    with pytest.raises(BlikPaymentsStopped):
        blik_switch_on(actor=holder, customer=cardholder.customer, channel=BlikChannel.APP)

    assert not blik_state(cardholder.customer).enabled


# --- Tokens ------------------------------------------------------------------------------------


def test_stopping_suspends_every_active_token_of_every_card_and_lifting_resumes_exactly_those(
    cardholder, holder, payable_card, debit_product
):
    second = card_mobile_payments_activate(
        actor=BANK,
        card=card_activate(
            actor=BANK, card=factories.card_factory(customer=cardholder.customer, product=debit_product)
        ),
    )
    first_token = token_factory(card=payable_card)
    second_token = token_factory(card=second, wallet=Wallet.APPLE_PAY)
    own = token_suspend(actor=holder, token=token_factory(card=payable_card, device_name="Watch"))

    customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    for token in (first_token, second_token):
        assert _token_state(token) == (TokenStatus.SUSPENDED, SuspendedBy.CUSTOMER_STOP)
        # The token service provider is told, so the phone's wallet does not even try.
        assert TokenServiceCommand.objects.filter(token=token, command="suspend").exists()
    assert _token_state(own) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)
    assert AuditEvent.objects.get(action="stops.payments.stopped").after["tokens_suspended"] == 2

    customer_stop_lift(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    assert _token_state(first_token) == (TokenStatus.ACTIVE, "")
    assert _token_state(second_token) == (TokenStatus.ACTIVE, "")
    # The holder's own suspension outlives the stop.
    assert _token_state(own) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)


def test_a_card_unblocked_while_stopped_does_not_bring_its_tokens_back(cardholder, holder, payable_card):
    token = token_factory(card=payable_card)
    card_block_temporarily(actor=holder, card=payable_card)
    assert _token_state(token) == (TokenStatus.SUSPENDED, SuspendedBy.CARD_BLOCK)

    customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)
    # The stop takes the weaker card cause over: the card's unblock does not resume it.
    assert _token_state(token) == (TokenStatus.SUSPENDED, SuspendedBy.CUSTOMER_STOP)
    card_unblock(actor=holder, card=_fresh(payable_card))
    assert _token_state(token) == (TokenStatus.SUSPENDED, SuspendedBy.CUSTOMER_STOP)

    customer_stop_lift(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)
    assert _token_state(token) == (TokenStatus.ACTIVE, "")


def test_a_lift_leaves_suspended_the_token_of_a_card_blocked_meanwhile_for_the_cards_cause(
    cardholder, holder, payable_card
):
    token = token_factory(card=payable_card)
    customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)
    card_block_temporarily(actor=holder, card=payable_card)

    customer_stop_lift(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    assert _token_state(token) == (TokenStatus.SUSPENDED, SuspendedBy.CARD_BLOCK)
    card_unblock(actor=holder, card=_fresh(payable_card))
    assert _token_state(token) == (TokenStatus.ACTIVE, "")


def test_a_bs_pay_token_of_a_device_blocked_meanwhile_waits_for_the_device(cardholder, holder, payable_card):
    device = device_for(cardholder.customer)
    token = token_factory(card=payable_card, wallet=Wallet.BS_PAY, app_device=device)
    customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)
    device = device_block_temporarily(actor=holder, device=device)
    # The device's block does not take the stronger stop's cause over.
    assert _token_state(token) == (TokenStatus.SUSPENDED, SuspendedBy.CUSTOMER_STOP)

    customer_stop_lift(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)
    assert _token_state(token) == (TokenStatus.SUSPENDED, SuspendedBy.DEVICE_BLOCK)

    device_unblock(actor=holder, device=device)
    assert _token_state(token) == (TokenStatus.ACTIVE, "")


def test_no_token_is_resumed_by_hand_while_stopped(cardholder, holder, payable_card):
    token = token_suspend(actor=holder, token=token_factory(card=payable_card))
    customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    with pytest.raises(InvalidTransition) as refused:
        token_resume(actor=holder, token=token)

    assert refused.value.code == "payments_stopped"
    assert _token_state(token) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)


def test_a_token_the_wallet_activates_while_stopped_is_suspended_for_the_stop(cardholder, holder, payable_card):
    token = token_factory(card=payable_card, activate=False)
    customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    token_provider_event(actor=BANK, token=token, event=ProviderEvent.ACTIVATED)

    assert _token_state(token) == (TokenStatus.SUSPENDED, SuspendedBy.CUSTOMER_STOP)
    customer_stop_lift(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)
    assert _token_state(token) == (TokenStatus.ACTIVE, "")


def test_a_stop_and_a_lift_are_all_or_nothing(cardholder, holder, payable_card, monkeypatch):
    token = token_factory(card=payable_card)

    def broken(**kwargs):
        raise RuntimeError("the BLIK service failed")

    monkeypatch.setattr("kartosfera.stops.services.blik_switch_off", broken)
    with pytest.raises(RuntimeError):
        customer_stop(actor=holder, customer=cardholder.customer, channel=StopChannel.PORTAL)

    assert not Customer.objects.get(pk=cardholder.customer.pk).payments_stopped
    assert _token_state(token) == (TokenStatus.ACTIVE, "")
    assert not AuditEvent.objects.filter(action="stops.payments.stopped").exists()
