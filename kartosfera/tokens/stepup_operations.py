"""Resuming a wallet token is confirmed with an SMS code naming the token and the card (found by kartosfera.sca).

Suspending needs no code (stopping payments must always work); deleting asks for a confirmation page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.http import Http404
from django.utils.translation import gettext as _

from kartosfera.core.audit import Actor
from kartosfera.sca import stepup
from kartosfera.sca.stepup import Channel
from kartosfera.tokens.selectors import token_get_for_customer
from kartosfera.tokens.services import token_resume, token_resume_check
from kartosfera.tokens.states import Wallet
from kartosfera.users.models import User

if TYPE_CHECKING:
    from kartosfera.cards.models import Card
    from kartosfera.tokens.models import Token

TOKEN_RESUME = "tokens.token.resume"  # noqa: S105 (an operation's name)


def token_resume_payload(token: Token) -> dict[str, Any]:
    """What the code confirms: which token (the SMS names it by its wallet and last four digits)."""
    return {"token_id": token.pk, "wallet": token.wallet, "token_last4": token.token_last4}


def describe_resume(*, payload: Mapping[str, Any], card: Card | None) -> str:
    if card is None:  # started with its card, always
        raise ValueError("a token's resumption needs its card")
    return _("resuming card %(card)s in %(wallet)s (token *%(token)s)") % {
        "card": stepup.card_label(card),
        "wallet": Wallet(payload["wallet"]).label,
        "token": payload["token_last4"],
    }


def _token(*, payload: Mapping[str, Any], card: Card | None) -> Token:
    if card is None:  # started with its card, always
        raise Http404
    # Reached through the card's holder (the mechanism checked that the card is the asker's):
    # the token must still be theirs and this card's.
    return token_get_for_customer(customer=card.customer, token_id=payload["token_id"], card_id=card.pk)


def check_resume(*, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> None:
    """No code for a token that cannot be resumed now (suspended with its card, by the bank, ...)."""
    token_resume_check(actor=actor, token=_token(payload=payload, card=card))


@stepup.register(
    TOKEN_RESUME,
    describe=describe_resume,
    check=check_resume,
    channels=(Channel.WEB, Channel.APP),
    examples=[{"token_id": 1, "wallet": wallet.value, "token_last4": "9999"} for wallet in Wallet],
)
def run_resume(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    token = token_resume(actor=actor, token=_token(payload=payload, card=card))
    return stepup.StepUpResult(
        message=_("The card in %(wallet)s can be used again.") % {"wallet": token.get_wallet_display()},
    )
