"""The ACS's decision on an AReq: one small rule per step, asked in RULES' order; the first answer wins.

docs/3d-secure.md, "The ACS". transStatusReason codes are EMV 3DS 2.2's (research §6).

1. ``card_unknown``: no card of ours has the number → N 08 (no card record).
2. ``card_unusable``: expired → N 05; not activated or blocked by the holder → N 12; blocked by the bank or
   cancelled → R 12; lost → R 11; stolen → R 10 (cards/usability.py, the one "can this card pay now" answer).
   ``customer_stopped``: the holder stopped every payment (docs/stop-everything.md) → N 12, as a holder's block.
3. ``not_payment``: a non-payment authentication (messageCategory 02) → N 20; ``not_browser``: the app and 3RI
   channels are not supported yet → N 03 / N 21.
4. ``internet_locked``: internet payments locked after wrong 3DS PINs or codes (secure3d) → N 19.
5. ``challenge_asked``: the 3DS requestor asks for or mandates a challenge (threeDSRequestorChallengeInd 03/04)
   → C: no exemption is applied against the merchant's wish.
6. ``trusted_merchant``: the merchant is on the holder's trusted list (RTS art. 13) → Y.
7. ``low_value``: the holder's switch is on and the payment fits the RTS art. 16 ceilings, the bank's own
   and the card's remote counter since the last SCA (processing/exemptions.py, the card core's counter) → Y.
8. ``challenge``: otherwise C; without a 3DS PIN set too (``no_threeds_pin``: the challenge explains how to set
   one and ends N).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from kartosfera.acs.currencies import NUMERIC_TO_ALPHA
from kartosfera.acs.models import Exemption, TransStatus
from kartosfera.cards.models import Card
from kartosfera.cards.usability import Unusable, card_usability
from kartosfera.core.money import Currency
from kartosfera.processing import exemptions
from kartosfera.processing.conversion import convert_minor, eur_pln_reference_rate
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant


class Reason:
    """transStatusReason values (EMV 3DS 2.2) the ACS uses."""

    UNSUPPORTED_DEVICE = "03"
    EXPIRED_CARD = "05"
    NO_CARD_RECORD = "08"
    STOLEN_CARD = "10"
    SUSPECTED_FRAUD = "11"
    NOT_PERMITTED = "12"
    MAX_CHALLENGES = "19"
    NPA_NOT_SUPPORTED = "20"
    THREE_RI_NOT_SUPPORTED = "21"


# Whether and why an unusable card is refused: N (not authenticated) or R (rejected: do not even authorize).
UNUSABLE_ANSWERS: dict[str, tuple[str, str]] = {
    Unusable.EXPIRED: (TransStatus.NOT_AUTHENTICATED, Reason.EXPIRED_CARD),
    Unusable.NOT_ACTIVATED: (TransStatus.NOT_AUTHENTICATED, Reason.NOT_PERMITTED),
    Unusable.BLOCKED_BY_HOLDER: (TransStatus.NOT_AUTHENTICATED, Reason.NOT_PERMITTED),
    Unusable.BLOCKED_BY_BANK: (TransStatus.REJECTED, Reason.NOT_PERMITTED),
    Unusable.CANCELLED: (TransStatus.REJECTED, Reason.NOT_PERMITTED),
    Unusable.LOST: (TransStatus.REJECTED, Reason.SUSPECTED_FRAUD),
    Unusable.STOLEN: (TransStatus.REJECTED, Reason.STOLEN_CARD),
}
CHALLENGE_REQUESTED = frozenset({"03", "04"})


@dataclass(frozen=True)
class Purchase:
    """What the decision reads of the AReq."""

    amount_minor: int
    currency: str  # ISO 4217 numeric
    message_category: str
    device_channel: str
    acquirer_merchant_id: str
    challenge_indicator: str


@dataclass(frozen=True)
class Outcome:
    trans_status: str
    reason: str  # transStatusReason, "" when none is sent
    rule: str
    exemption: str = Exemption.NONE


@dataclass
class Context:
    card: Card | None
    purchase: Purchase
    now: dt.datetime
    profile: ThreeDSProfile | None = None
    # The card's customer stopped every payment (kartosfera/stops): read with the card.
    customer_stopped: bool = False


def card_unknown(ctx: Context) -> Outcome | None:
    if ctx.card is None:
        return Outcome(TransStatus.NOT_AUTHENTICATED, Reason.NO_CARD_RECORD, "card_unknown")
    return None


def card_unusable(ctx: Context) -> Outcome | None:
    assert ctx.card is not None
    why = card_usability(ctx.card, now=ctx.now).reason
    if why is None:
        return None
    status, reason = UNUSABLE_ANSWERS[why]
    return Outcome(status, reason, why)


def customer_stopped(ctx: Context) -> Outcome | None:
    """A stopped customer's payment is not authenticated (N 12, not permitted: the holder may lift the stop)."""
    if ctx.customer_stopped:
        return Outcome(TransStatus.NOT_AUTHENTICATED, Reason.NOT_PERMITTED, "customer_stopped")
    return None


def not_payment(ctx: Context) -> Outcome | None:
    if ctx.purchase.message_category != "01":
        return Outcome(TransStatus.NOT_AUTHENTICATED, Reason.NPA_NOT_SUPPORTED, "not_payment")
    return None


def not_browser(ctx: Context) -> Outcome | None:
    if ctx.purchase.device_channel == "01":
        return Outcome(TransStatus.NOT_AUTHENTICATED, Reason.UNSUPPORTED_DEVICE, "app_channel_unsupported")
    if ctx.purchase.device_channel == "03":
        return Outcome(TransStatus.NOT_AUTHENTICATED, Reason.THREE_RI_NOT_SUPPORTED, "3ri_channel_unsupported")
    return None


def internet_locked(ctx: Context) -> Outcome | None:
    profile = ctx.profile
    if profile is not None and profile.locked_until is not None and profile.locked_until > ctx.now:
        return Outcome(TransStatus.NOT_AUTHENTICATED, Reason.MAX_CHALLENGES, "internet_payments_locked")
    return None


def challenge_asked(ctx: Context) -> Outcome | None:
    if ctx.purchase.challenge_indicator in CHALLENGE_REQUESTED:
        return _challenge(ctx, "challenge_requested")
    return None


def trusted_merchant(ctx: Context) -> Outcome | None:
    assert ctx.card is not None
    merchant_id = ctx.purchase.acquirer_merchant_id
    if TrustedMerchant.objects.filter(customer_id=ctx.card.customer_id, merchant_id=merchant_id).exists():
        return Outcome(TransStatus.AUTHENTICATED, "", "trusted_merchant", Exemption.TRUSTED_MERCHANT)
    return None


def low_value_payment(card: Card, purchase: Purchase, now: dt.datetime) -> exemptions.Payment | None:
    """The purchase as the exemption ceilings value it; None when it is in neither PLN nor EUR."""
    currency = NUMERIC_TO_ALPHA.get(purchase.currency)
    if currency not in (Currency.PLN, Currency.EUR):
        return None
    account_currency = card.account.currency
    rate = eur_pln_reference_rate(at=now).pln_per_eur
    billing = purchase.amount_minor
    if currency != account_currency:
        to_pln = currency == Currency.EUR
        billing = convert_minor(
            purchase.amount_minor,
            from_currency=currency,
            to_currency=account_currency,
            rate=rate if to_pln else Decimal(1) / rate,
        )
    return exemptions.Payment(
        amount_minor=purchase.amount_minor,
        currency=currency,
        billing_minor=billing,
        account_currency=account_currency,
        pln_per_eur=rate,
    )


def low_value(ctx: Context) -> Outcome | None:
    """RTS art. 16 with the card core's ceilings and counter (the same test as processing's ``_low_value_allowed``)."""
    assert ctx.card is not None
    if ctx.profile is not None and not ctx.profile.low_value_exemption:
        return None
    payment = low_value_payment(ctx.card, ctx.purchase, ctx.now)
    if payment is None:
        return None
    ceilings = (exemptions.LOW_VALUE_RTS, exemptions.low_value_bank_ceiling())
    counters = exemptions.counters_of(ctx.card, exemptions.Kind.REMOTE)
    if exemptions.within_all(ceilings, counters, payment, mode=settings.PSD2_EXEMPTION_COUNTER):
        return Outcome(TransStatus.AUTHENTICATED, "", "low_value", Exemption.LOW_VALUE)
    return None


def _challenge(ctx: Context, rule: str) -> Outcome:
    if ctx.profile is None or not ctx.profile.has_pin:
        # The challenge page tells the holder how to set a 3DS PIN in the portal, then ends N.
        rule = "no_threeds_pin"
    return Outcome(TransStatus.CHALLENGE, "", rule)


def challenge(ctx: Context) -> Outcome:
    return _challenge(ctx, "challenge")


RULES: tuple[Callable[[Context], Outcome | None], ...] = (
    card_unknown,
    card_unusable,
    customer_stopped,
    not_payment,
    not_browser,
    internet_locked,
    challenge_asked,
    trusted_merchant,
    low_value,
)


def decide(ctx: Context) -> Outcome:
    for rule in RULES:
        outcome = rule(ctx)
        if outcome is not None:
            return outcome
    return challenge(ctx)
