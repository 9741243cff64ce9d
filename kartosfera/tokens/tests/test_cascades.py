"""The tokens in step with their card: block, unblock, cancel, mobile payments off and on."""

from __future__ import annotations

import pytest
from django.db import connection

from kartosfera.cards.operations import OperationNotAllowed
from kartosfera.cards.operations_services import (
    card_block_temporarily,
    card_cancel,
    card_mobile_payments_activate,
    card_mobile_payments_deactivate,
    card_unblock,
)
from kartosfera.cards.states import StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.errors import InvalidTransition
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.testing.concurrency import run_together
from kartosfera.testing.tokens import PROVIDER, token_factory
from kartosfera.tokens.models import Token, TokenServiceCommand
from kartosfera.tokens.services import ProviderEvent, token_provider_event, token_resume, token_suspend
from kartosfera.tokens.states import SuspendedBy, TokenStatus, Wallet

HOLDER = Actor(type=ActorType.CUSTOMER, id="1", label="user:1")
STAFF = Actor(type=ActorType.STAFF, id="7", label="agent")
pytestmark = pytest.mark.django_db


def _state(token: Token) -> tuple[str, str]:
    token.refresh_from_db()
    return token.status, token.suspended_by


@pytest.fixture
def tokens(payable_card) -> dict[str, Token]:
    """Four tokens of one card: two active, one the holder suspended, one the bank suspended."""
    return {
        "google": token_factory(card=payable_card, wallet=Wallet.GOOGLE_PAY),
        "garmin": token_factory(card=payable_card, wallet=Wallet.GARMIN_PAY, device_name="Fenix 7"),
        "holder": token_suspend(actor=HOLDER, token=token_factory(card=payable_card, wallet=Wallet.APPLE_PAY)),
        "bank": token_suspend(actor=STAFF, token=token_factory(card=payable_card, wallet=Wallet.BS_PAY)),
    }


def test_a_temporary_block_suspends_the_active_tokens_as_suspended_by_the_block(payable_card, tokens):
    card_block_temporarily(actor=HOLDER, card=payable_card)

    assert _state(tokens["google"]) == (TokenStatus.SUSPENDED, SuspendedBy.CARD_BLOCK)
    assert _state(tokens["garmin"]) == (TokenStatus.SUSPENDED, SuspendedBy.CARD_BLOCK)
    assert _state(tokens["holder"]) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)
    assert _state(tokens["bank"]) == (TokenStatus.SUSPENDED, SuspendedBy.BANK)


def test_the_block_and_its_token_suspensions_share_one_trail_of_the_customer(payable_card, tokens):
    card_block_temporarily(actor=HOLDER, card=payable_card)

    trail = list(
        AuditEvent.objects.filter(customer_id=payable_card.customer_id)
        .order_by("-id")
        .values_list("action", "object_id")
    )[:3]
    assert ("cards.card.blocked", str(payable_card.pk)) == trail[2]
    assert {action for action, _ in trail[:2]} == {"tokens.token.suspended"}
    assert {int(object_id) for _, object_id in trail[:2]} == {tokens["google"].pk, tokens["garmin"].pk}


def test_unblocking_resumes_exactly_the_tokens_the_block_suspended(payable_card, tokens):
    card = card_block_temporarily(actor=HOLDER, card=payable_card)

    card_unblock(actor=HOLDER, card=card)

    assert _state(tokens["google"]) == (TokenStatus.ACTIVE, "")
    assert _state(tokens["garmin"]) == (TokenStatus.ACTIVE, "")
    assert _state(tokens["holder"]) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)
    assert _state(tokens["bank"]) == (TokenStatus.SUSPENDED, SuspendedBy.BANK)
    google = list(
        TokenServiceCommand.objects.filter(token=tokens["google"]).order_by("pk").values_list("command", flat=True)
    )
    assert google == ["suspend", "resume"]


def test_a_token_the_holder_suspended_during_the_block_stays_suspended_after_it(payable_card, tokens):
    card = card_block_temporarily(actor=HOLDER, card=payable_card)

    token_suspend(actor=HOLDER, token=tokens["google"])
    card_unblock(actor=HOLDER, card=card)

    assert _state(tokens["google"]) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)
    assert _state(tokens["garmin"]) == (TokenStatus.ACTIVE, "")


def test_the_holder_cannot_resume_a_token_the_cards_block_suspended(payable_card, tokens):
    card_block_temporarily(actor=HOLDER, card=payable_card)

    with pytest.raises(InvalidTransition) as refused:
        token_resume(actor=HOLDER, token=tokens["google"])

    assert refused.value.code == "token_suspended_by_card"


def test_nor_a_token_they_suspended_while_the_card_is_blocked(payable_card, tokens):
    card_block_temporarily(actor=HOLDER, card=payable_card)

    with pytest.raises(InvalidTransition) as refused:
        token_resume(actor=HOLDER, token=tokens["holder"])

    assert refused.value.code == "card_not_usable"


def test_cancelling_the_card_deletes_all_its_tokens_requested_and_suspended_too(payable_card, tokens):
    requested = token_factory(card=payable_card, activate=False)

    card_cancel(actor=HOLDER, card=payable_card, reason=StatusReason.LOST)

    for token in [*tokens.values(), requested]:
        assert _state(token) == (TokenStatus.DELETED, "")
    assert TokenServiceCommand.objects.filter(command="delete").count() == 5


def test_cancelling_a_blocked_card_deletes_its_tokens_suspended_by_the_block(payable_card, tokens):
    card = card_block_temporarily(actor=HOLDER, card=payable_card)

    card_cancel(actor=HOLDER, card=card, reason=StatusReason.STOLEN)

    assert Token.objects.exclude(status=TokenStatus.DELETED).count() == 0


def test_switching_mobile_payments_off_suspends_the_active_tokens_and_on_resumes_exactly_those(payable_card, tokens):
    card = card_mobile_payments_deactivate(actor=HOLDER, card=payable_card)

    assert _state(tokens["google"]) == (TokenStatus.SUSPENDED, SuspendedBy.MOBILE_PAYMENTS_OFF)
    assert _state(tokens["holder"]) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)

    card_mobile_payments_activate(actor=HOLDER, card=card)

    assert _state(tokens["google"]) == (TokenStatus.ACTIVE, "")
    assert _state(tokens["garmin"]) == (TokenStatus.ACTIVE, "")
    assert _state(tokens["holder"]) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)
    assert _state(tokens["bank"]) == (TokenStatus.SUSPENDED, SuspendedBy.BANK)


def test_unblocking_while_mobile_payments_are_off_keeps_the_tokens_suspended_for_that(payable_card, tokens):
    card = card_block_temporarily(actor=HOLDER, card=payable_card)
    card = card_mobile_payments_deactivate(actor=HOLDER, card=card)
    # The block is the stronger cause: switching mobile payments off does not take it over.
    assert _state(tokens["google"]) == (TokenStatus.SUSPENDED, SuspendedBy.CARD_BLOCK)

    card = card_unblock(actor=HOLDER, card=card)

    assert _state(tokens["google"]) == (TokenStatus.SUSPENDED, SuspendedBy.MOBILE_PAYMENTS_OFF)
    assert AuditEvent.objects.filter(
        action="tokens.token.suspension_changed", object_id=str(tokens["google"].pk)
    ).exists()

    card_mobile_payments_activate(actor=HOLDER, card=card)

    assert _state(tokens["google"]) == (TokenStatus.ACTIVE, "")
    assert _state(tokens["holder"]) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)


def test_blocking_while_mobile_payments_are_off_makes_the_block_the_cause(payable_card, tokens):
    card = card_mobile_payments_deactivate(actor=HOLDER, card=payable_card)
    card = card_block_temporarily(actor=HOLDER, card=card)

    assert _state(tokens["google"]) == (TokenStatus.SUSPENDED, SuspendedBy.CARD_BLOCK)

    card = card_unblock(actor=HOLDER, card=card)

    assert _state(tokens["google"]) == (TokenStatus.SUSPENDED, SuspendedBy.MOBILE_PAYMENTS_OFF)


def test_a_token_activated_while_the_card_is_blocked_is_suspended_by_the_block_and_resumed_with_it(payable_card):
    token = token_factory(card=payable_card, activate=False)
    card = card_block_temporarily(actor=HOLDER, card=payable_card)

    token_provider_event(actor=PROVIDER, token=token, event=ProviderEvent.ACTIVATED)
    assert _state(token) == (TokenStatus.SUSPENDED, SuspendedBy.CARD_BLOCK)

    card_unblock(actor=HOLDER, card=card)
    assert _state(token) == (TokenStatus.ACTIVE, "")


def test_a_refused_card_operation_leaves_the_tokens_as_they_were(payable_card, tokens):
    with pytest.raises(OperationNotAllowed):
        card_unblock(actor=HOLDER, card=payable_card)

    assert _state(tokens["google"]) == (TokenStatus.ACTIVE, "")


def test_a_bank_block_suspends_tokens_and_the_banks_unblock_resumes_them(payable_card, tokens):
    card = card_block_temporarily(actor=STAFF, card=payable_card)
    assert _state(tokens["garmin"]) == (TokenStatus.SUSPENDED, SuspendedBy.CARD_BLOCK)

    card_unblock(actor=STAFF, card=card)

    assert _state(tokens["garmin"]) == (TokenStatus.ACTIVE, "")
    assert _state(tokens["bank"]) == (TokenStatus.SUSPENDED, SuspendedBy.BANK)


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_block_racing_the_holders_resume_never_leaves_the_token_active(payable_card):
    token = token_suspend(actor=HOLDER, token=token_factory(card=payable_card))

    outcomes = run_together(
        lambda: card_block_temporarily(actor=HOLDER, card=payable_card),
        lambda: token_resume(actor=HOLDER, token=token),
        expected=(InvalidTransition,),
    )

    token.refresh_from_db()
    payable_card.refresh_from_db()
    assert payable_card.status == "blocked"
    assert token.status == TokenStatus.SUSPENDED
    # Resumed first then suspended by the block, or refused because the card was already blocked.
    assert token.suspended_by == (
        SuspendedBy.HOLDER if isinstance(outcomes[1], InvalidTransition) else SuspendedBy.CARD_BLOCK
    )
