"""BS Pay tokens live on a BS Pay device: provisioned for an activated device of the holder, suspended with the
device's block, resumed with its unblock (unless the card holds them), deleted when it is blocked for good."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_block_temporarily, card_unblock
from kartosfera.cards.pan import decrypt_pan
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType
from kartosfera.devices.services import device_block_permanently, device_block_temporarily, device_unblock
from kartosfera.devices.tests.helpers import device_for
from kartosfera.testing.tokens import PROVIDER, token_factory
from kartosfera.tokens.models import Token
from kartosfera.tokens.provisioning import DeclineReason, ProvisioningRequest, token_provisioning_decide
from kartosfera.tokens.states import SuspendedBy, TokenStatus, Wallet

pytestmark = pytest.mark.django_db
HOLDER = Actor(type=ActorType.CUSTOMER, id="holder", label="The holder")
BANK = Actor.system("bank")


def _fresh(token: Token) -> Token:
    return Token.objects.get(pk=token.pk)


def test_blocking_a_device_suspends_only_its_bs_pay_tokens_and_unblocking_resumes_exactly_those(payable_card):
    device = device_for(payable_card.customer, "Pixel 8")
    on_device = token_factory(card=payable_card, wallet=Wallet.BS_PAY, app_device=device)
    elsewhere = token_factory(card=payable_card, wallet=Wallet.BS_PAY)  # the holder's other phone
    google = token_factory(card=payable_card, wallet=Wallet.GOOGLE_PAY)

    device_block_temporarily(actor=HOLDER, device=device)

    assert (_fresh(on_device).status, _fresh(on_device).suspended_by) == (
        TokenStatus.SUSPENDED,
        SuspendedBy.DEVICE_BLOCK,
    )
    assert _fresh(elsewhere).status == TokenStatus.ACTIVE and _fresh(google).status == TokenStatus.ACTIVE

    device_unblock(actor=HOLDER, device=device)
    assert _fresh(on_device).status == TokenStatus.ACTIVE


def test_a_card_blocked_meanwhile_keeps_the_token_when_the_device_is_unblocked_and_brings_it_back_itself(
    payable_card,
):
    device = device_for(payable_card.customer)
    token = token_factory(card=payable_card, wallet=Wallet.BS_PAY, app_device=device)
    device_block_temporarily(actor=HOLDER, device=device)
    card_block_temporarily(actor=HOLDER, card=payable_card)
    # The device's cause is the stronger: the card's block does not take it over.
    assert _fresh(token).suspended_by == SuspendedBy.DEVICE_BLOCK

    device_unblock(actor=HOLDER, device=device)
    assert (_fresh(token).status, _fresh(token).suspended_by) == (TokenStatus.SUSPENDED, SuspendedBy.CARD_BLOCK)

    card_unblock(actor=HOLDER, card=Card.objects.get(pk=payable_card.pk))
    assert _fresh(token).status == TokenStatus.ACTIVE


def test_a_token_the_cards_block_suspended_is_taken_over_by_the_devices_block(payable_card):
    device = device_for(payable_card.customer)
    token = token_factory(card=payable_card, wallet=Wallet.BS_PAY, app_device=device)
    card_block_temporarily(actor=HOLDER, card=payable_card)
    device_block_temporarily(actor=HOLDER, device=device)
    assert _fresh(token).suspended_by == SuspendedBy.DEVICE_BLOCK

    # The card's unblock leaves a token on a blocked device suspended.
    card_unblock(actor=HOLDER, card=Card.objects.get(pk=payable_card.pk))
    assert _fresh(token).status == TokenStatus.SUSPENDED
    device_unblock(actor=HOLDER, device=device)
    assert _fresh(token).status == TokenStatus.ACTIVE


def test_blocking_a_device_for_good_deletes_its_tokens(payable_card):
    device = device_for(payable_card.customer)
    token = token_factory(card=payable_card, wallet=Wallet.BS_PAY, app_device=device)
    device_block_permanently(actor=BANK, device=device, reason="stolen")
    assert _fresh(token).status == TokenStatus.DELETED


def test_only_a_bs_pay_token_has_a_device_and_every_one_has(payable_card):
    device = device_for(payable_card.customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Token.objects.create(
            card=payable_card, token_reference="X1", token_last4="1234", wallet=Wallet.GOOGLE_PAY, app_device=device
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Token.objects.create(card=payable_card, token_reference="X2", token_last4="1234", wallet=Wallet.BS_PAY)


def _bs_pay_request(card, device_id) -> ProvisioningRequest:
    return ProvisioningRequest(
        pan=decrypt_pan(card.pan_ciphertext),
        expiry=card.expiry,
        token_reference=f"BSPAY-{device_id}"[:64] if device_id else "BSPAY-NONE",
        token_last4="9876",
        wallet=Wallet.BS_PAY,
        device_name="Pixel 8",
        device_type="phone",
        recommendation="approve",
        app_device_id=device_id,
    )


def test_a_bs_pay_token_is_provisioned_only_for_an_active_device_of_the_cards_holder(payable_card, second_cardholder):
    mine = device_for(payable_card.customer)
    theirs = device_for(second_cardholder.customer)
    blocked = device_for(payable_card.customer, "Old phone")
    device_block_temporarily(actor=HOLDER, device=blocked)

    for device_id in (None, theirs.public_id, blocked.public_id):
        answer = token_provisioning_decide(actor=PROVIDER, request=_bs_pay_request(payable_card, device_id))
        assert (answer.decision, answer.reason) == ("decline", DeclineReason.BS_PAY_DEVICE_UNUSABLE)
    assert not Token.objects.exists()

    answer = token_provisioning_decide(actor=PROVIDER, request=_bs_pay_request(payable_card, mine.public_id))
    assert answer.decision == "approve"
    assert Token.objects.get().app_device == mine
