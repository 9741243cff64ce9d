"""The token status machine, the holder's and the bank's actions, and the provider's events."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import Http404

from kartosfera.core.audit import Actor
from kartosfera.core.errors import InvalidTransition, ValidationFailed
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.testing.concurrency import run_together
from kartosfera.testing.factories import card_factory
from kartosfera.testing.tokens import PROVIDER, token_factory
from kartosfera.tokens.models import CommandStatus, Token, TokenServiceCommand
from kartosfera.tokens.selectors import token_get_for_customer, token_list_for_card, token_list_for_customer
from kartosfera.tokens.services import (
    ProviderEvent,
    token_delete,
    token_provider_event,
    token_register,
    token_resume,
    token_suspend,
)
from kartosfera.tokens.states import ALLOWED_TRANSITIONS, ProviderSync, SuspendedBy, TokenStatus, Wallet

HOLDER = Actor(type=ActorType.CUSTOMER, id="1", label="user:1")
STAFF = Actor(type=ActorType.STAFF, id="7", label="agent")
pytestmark = pytest.mark.django_db


def _actions(token: Token) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="tokens.token", object_id=str(token.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_the_status_machine_has_deleted_as_its_only_final_state():
    assert ALLOWED_TRANSITIONS[TokenStatus.DELETED] == frozenset()
    assert all(TokenStatus.DELETED in targets for status, targets in ALLOWED_TRANSITIONS.items() if status != "deleted")
    assert TokenStatus.SUSPENDED not in ALLOWED_TRANSITIONS[TokenStatus.REQUESTED]


def test_a_provisioned_token_is_requested_then_active_with_audit_rows_on_the_customers_trail(payable_card):
    token = token_factory(card=payable_card, wallet=Wallet.APPLE_PAY)

    assert token.status == TokenStatus.ACTIVE
    assert _actions(token) == ["tokens.token.requested", "tokens.token.activated"]
    event = AuditEvent.objects.get(action="tokens.token.activated", object_id=str(token.pk))
    assert event.customer_id == payable_card.customer_id
    assert event.bank_id == payable_card.bank_id
    assert event.after == {
        "card_id": payable_card.pk,
        "wallet": "apple_pay",
        "token_last4": token.token_last4,
        "status": "active",
        "suspended_by": "",
    }


def test_registering_the_same_token_reference_again_returns_the_same_token(payable_card):
    first = token_factory(card=payable_card, activate=False)

    again = token_register(
        actor=PROVIDER,
        card=payable_card,
        token_reference=first.token_reference,
        token_last4="9999",
        wallet="google_pay",
    )

    assert again.pk == first.pk
    assert Token.objects.count() == 1


def test_a_token_reference_of_another_card_is_refused(payable_card, second_cardholder):
    token = token_factory(card=payable_card, activate=False)
    other_card = card_factory(customer=second_cardholder.customer)

    with pytest.raises(InvalidTransition):
        token_register(
            actor=PROVIDER, card=other_card, token_reference=token.token_reference, token_last4="1111", wallet="bs_pay"
        )


def test_the_holder_suspends_a_token_at_once_and_the_provider_is_told(payable_card, django_capture_on_commit_callbacks):
    token = token_factory(card=payable_card)

    with django_capture_on_commit_callbacks(execute=True):
        token = token_suspend(actor=HOLDER, token=token)

    token.refresh_from_db()
    assert (token.status, token.suspended_by) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)
    assert _actions(token)[-2:] == ["tokens.token.suspended", "tokens.command.confirmed"]
    command = TokenServiceCommand.objects.get(token=token)
    assert (command.command, command.status) == ("suspend", CommandStatus.CONFIRMED)
    assert token.provider_sync == ProviderSync.CONFIRMED


def test_a_command_is_pending_until_the_provider_confirms_it(payable_card):
    token = token_factory(card=payable_card)

    # No commit yet (the test's transaction): the command waits in the outbox.
    token = token_suspend(actor=HOLDER, token=token)

    token.refresh_from_db()
    assert token.provider_sync == ProviderSync.PENDING
    assert token.last_command == "suspend"
    assert TokenServiceCommand.objects.get(token=token).status == CommandStatus.QUEUED


def test_the_holder_resumes_their_own_suspension(payable_card):
    token = token_suspend(actor=HOLDER, token=token_factory(card=payable_card))

    token = token_resume(actor=HOLDER, token=token)

    token.refresh_from_db()
    assert (token.status, token.suspended_by) == (TokenStatus.ACTIVE, "")
    assert _actions(token)[-1] == "tokens.token.resumed"
    assert list(TokenServiceCommand.objects.filter(token=token).values_list("command", flat=True).order_by("pk")) == [
        "suspend",
        "resume",
    ]


def test_the_holder_cannot_resume_a_token_the_bank_suspended(payable_card):
    token = token_suspend(actor=STAFF, token=token_factory(card=payable_card), reason="Fraud check")

    with pytest.raises(InvalidTransition) as refused:
        token_resume(actor=HOLDER, token=token)

    assert refused.value.code == "token_suspended_by_bank"
    token.refresh_from_db()
    assert (token.status, token.suspended_by) == (TokenStatus.SUSPENDED, SuspendedBy.BANK)
    assert AuditEvent.objects.get(action="tokens.token.suspended", object_id=str(token.pk)).after["reason"] == (
        "Fraud check"
    )


def test_the_bank_may_resume_the_holders_suspension(payable_card):
    token = token_suspend(actor=HOLDER, token=token_factory(card=payable_card))

    token = token_resume(actor=STAFF, token=token)

    assert token.status == TokenStatus.ACTIVE


def test_the_bank_suspending_a_token_the_holder_suspended_makes_it_the_banks(payable_card):
    token = token_suspend(actor=HOLDER, token=token_factory(card=payable_card))

    token = token_suspend(actor=STAFF, token=token, reason="Customer called")

    assert token.suspended_by == SuspendedBy.BANK
    assert _actions(token)[-1] == "tokens.token.suspension_changed"
    # The wallet has it suspended already: no second command.
    assert TokenServiceCommand.objects.filter(token=token).count() == 1
    with pytest.raises(InvalidTransition):
        token_resume(actor=HOLDER, token=token)


def test_suspending_a_suspended_token_again_is_refused_with_a_clear_code(payable_card):
    token = token_suspend(actor=STAFF, token=token_factory(card=payable_card))

    with pytest.raises(InvalidTransition) as refused:
        token_suspend(actor=HOLDER, token=token)

    assert refused.value.code == "token_already_suspended"


def test_a_bank_reason_longer_than_200_characters_is_refused_and_nothing_changes(payable_card):
    token = token_factory(card=payable_card)

    with pytest.raises(ValidationFailed):
        token_suspend(actor=STAFF, token=token, reason="x" * 201)

    token.refresh_from_db()
    assert token.status == TokenStatus.ACTIVE


def test_resuming_an_active_or_deleting_a_deleted_token_is_refused(payable_card):
    token = token_factory(card=payable_card)
    with pytest.raises(InvalidTransition):
        token_resume(actor=HOLDER, token=token)

    token_delete(actor=HOLDER, token=token)

    with pytest.raises(InvalidTransition):
        token_delete(actor=HOLDER, token=token)
    with pytest.raises(InvalidTransition):
        token_suspend(actor=HOLDER, token=token)


def test_deleting_a_token_is_final_and_told_to_the_provider(payable_card):
    token = token_delete(actor=HOLDER, token=token_factory(card=payable_card))

    token.refresh_from_db()
    assert token.status == TokenStatus.DELETED
    assert TokenServiceCommand.objects.get(token=token).command == "delete"
    assert _actions(token)[-1] == "tokens.token.deleted"


def test_a_requested_token_cannot_be_suspended(payable_card):
    token = token_factory(card=payable_card, activate=False)

    with pytest.raises(InvalidTransition):
        token_suspend(actor=HOLDER, token=token)


# --- The provider's events -----------------------------------------------------------------------


def test_provider_events_are_idempotent(payable_card):
    token = token_factory(card=payable_card)
    rows = AuditEvent.objects.count()

    token = token_provider_event(actor=PROVIDER, token=token, event=ProviderEvent.ACTIVATED)

    assert token.status == TokenStatus.ACTIVE
    assert AuditEvent.objects.count() == rows

    token_provider_event(actor=PROVIDER, token=token, event=ProviderEvent.DELETED)
    token = token_provider_event(actor=PROVIDER, token=token, event=ProviderEvent.DELETED)

    assert token.status == TokenStatus.DELETED
    assert _actions(token).count("tokens.token.deleted") == 1
    # The wallet deleted it: nothing to tell the wallet.
    assert not TokenServiceCommand.objects.filter(token=token).exists()


def test_the_wallets_suspension_is_lifted_by_the_wallets_activation(payable_card):
    token = token_factory(card=payable_card)

    token = token_provider_event(actor=PROVIDER, token=token, event=ProviderEvent.SUSPENDED)
    assert (token.status, token.suspended_by) == (TokenStatus.SUSPENDED, SuspendedBy.WALLET)

    token = token_provider_event(actor=PROVIDER, token=token, event=ProviderEvent.ACTIVATED)
    assert token.status == TokenStatus.ACTIVE


def test_the_wallets_activation_does_not_lift_the_holders_suspension(payable_card):
    token = token_suspend(actor=HOLDER, token=token_factory(card=payable_card))

    token = token_provider_event(actor=PROVIDER, token=token, event=ProviderEvent.ACTIVATED)

    assert (token.status, token.suspended_by) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)


def test_a_token_activated_while_mobile_payments_are_off_is_suspended_for_that_cause(payable_card):
    from kartosfera.cards.operations_services import card_mobile_payments_deactivate

    token = token_factory(card=payable_card, activate=False)
    card_mobile_payments_deactivate(actor=HOLDER, card=payable_card)

    token = token_provider_event(actor=PROVIDER, token=token, event=ProviderEvent.ACTIVATED)

    assert (token.status, token.suspended_by) == (TokenStatus.SUSPENDED, SuspendedBy.MOBILE_PAYMENTS_OFF)
    assert TokenServiceCommand.objects.get(token=token).command == "suspend"


# --- Selectors ------------------------------------------------------------------------------------


def test_another_customers_token_is_a_404(payable_card, second_cardholder):
    token = token_factory(card=payable_card)

    assert token_get_for_customer(customer=payable_card.customer, token_id=token.pk) == token
    with pytest.raises(Http404):
        token_get_for_customer(customer=second_cardholder.customer, token_id=token.pk)
    assert list(token_list_for_customer(customer=second_cardholder.customer)) == []


def test_a_cards_list_leaves_deleted_tokens_out_unless_asked(payable_card):
    kept = token_factory(card=payable_card)
    gone = token_delete(actor=HOLDER, token=token_factory(card=payable_card))

    assert list(token_list_for_card(card=payable_card)) == [kept]
    assert set(token_list_for_card(card=payable_card, include_deleted=True)) == {kept, gone}


# --- Concurrency ----------------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_suspensions_at_once_suspend_once_and_queue_one_command(payable_card):
    token = token_factory(card=payable_card)

    outcomes = run_together(
        lambda: token_suspend(actor=HOLDER, token=token),
        lambda: token_suspend(actor=HOLDER, token=token),
        expected=(InvalidTransition,),
    )

    assert sum(isinstance(outcome, InvalidTransition) for outcome in outcomes) == 1
    assert TokenServiceCommand.objects.filter(token=token, command="suspend").count() == 1
    assert AuditEvent.objects.filter(action="tokens.token.suspended", object_id=str(token.pk)).count() == 1
