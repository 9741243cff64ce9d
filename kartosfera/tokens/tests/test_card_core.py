"""The card core's decisions for payments with a wallet token (processing/pipeline.py: check_wallet)."""

from __future__ import annotations

import pytest

from kartosfera.cards.models import Brand
from kartosfera.cards.operations_services import (
    card_block_temporarily,
    card_mobile_payments_activate,
    card_mobile_payments_deactivate,
    card_unblock,
)
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType
from kartosfera.processing.models import Channel
from kartosfera.processing.tests.helpers import active_card, decide
from kartosfera.testing.tokens import token_factory
from kartosfera.tokens.services import token_delete, token_resume, token_suspend

HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")
pytestmark = pytest.mark.django_db


@pytest.fixture(params=[Brand.VISA, Brand.MASTERCARD])
def wallet_card(request):
    tc = active_card(brand=request.param)
    card_mobile_payments_activate(actor=HOLDER, card=tc.card)
    tc.card.refresh_from_db()
    return tc


def _declined(decision, reason: str, advice: str) -> None:
    authorization = decision.authorization
    assert (authorization.approved, authorization.decline_reason, authorization.response_code) == (False, reason, "62")
    assert authorization.held_minor == 0
    if authorization.brand == Brand.MASTERCARD:
        from kartosfera.processing.codes import code_for

        assert code_for(reason).advice_code(Brand.MASTERCARD) == advice


def test_a_payment_with_an_active_token_is_approved(wallet_card):
    token = token_factory(card=wallet_card.card)

    decision = decide(wallet_card, channel=Channel.WALLET, token_reference=token.token_reference)

    assert decision.authorization.approved


def test_a_suspended_token_is_declined_with_62_and_approved_again_once_resumed(wallet_card):
    token = token_suspend(actor=HOLDER, token=token_factory(card=wallet_card.card))

    _declined(
        decide(wallet_card, channel=Channel.WALLET, token_reference=token.token_reference), "token_suspended", "02"
    )

    token_resume(actor=HOLDER, token=token)
    assert decide(wallet_card, channel=Channel.WALLET, token_reference=token.token_reference).authorization.approved


def test_a_deleted_requested_or_unknown_token_is_declined_for_good(wallet_card):
    deleted = token_delete(actor=HOLDER, token=token_factory(card=wallet_card.card))
    requested = token_factory(card=wallet_card.card, activate=False)

    for reference in (deleted.token_reference, requested.token_reference, "DNITHE-UNKNOWN"):
        _declined(decide(wallet_card, channel=Channel.WALLET, token_reference=reference), "token_not_usable", "03")


def test_another_cards_token_is_declined(wallet_card):
    other = active_card()
    card_mobile_payments_activate(actor=HOLDER, card=other.card)
    foreign = token_factory(card=other.card)

    decision = decide(wallet_card, channel=Channel.WALLET, token_reference=foreign.token_reference)

    _declined(decision, "token_not_usable", "03")


def test_mobile_payments_off_declines_even_an_active_token_first(wallet_card):
    token = token_factory(card=wallet_card.card)
    card_mobile_payments_deactivate(actor=HOLDER, card=wallet_card.card)

    decision = decide(wallet_card, channel=Channel.WALLET, token_reference=token.token_reference)

    _declined(decision, "mobile_payments_disabled", "02")


def test_a_token_tap_at_a_terminal_is_checked_too(wallet_card):
    # A phone's tap reaches the processor as a contactless payment carrying the token.
    token = token_suspend(actor=HOLDER, token=token_factory(card=wallet_card.card))

    decision = decide(wallet_card, channel=Channel.POS_CONTACTLESS, token_reference=token.token_reference)

    _declined(decision, "token_suspended", "02")


def test_the_cards_block_declines_first_and_the_unblock_brings_the_token_back(wallet_card):
    token = token_factory(card=wallet_card.card)
    card = card_block_temporarily(actor=HOLDER, card=wallet_card.card)

    blocked = decide(wallet_card, channel=Channel.WALLET, token_reference=token.token_reference)
    assert blocked.authorization.decline_reason == "card_blocked_by_holder"

    card_unblock(actor=HOLDER, card=card)
    assert decide(wallet_card, channel=Channel.WALLET, token_reference=token.token_reference).authorization.approved
