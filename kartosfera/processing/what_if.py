"""The "what if" check: would a payment go through, and if not, which setting would stop it (docs/controls.md).

The same pipeline as a real authorization (processing/pipeline.py), run dry: the card, its account and the
day's counters are read, the checks run on a Context built like the decision service builds it, and the
answer is returned. Nothing is written: no authorization, no hold, no counter, no audit row, no lock
(a test compares the whole database before and after).

What a person asking cannot know is assumed in their favour, and said: a PIN typed at a terminal or an
ATM is the right one (a blocked PIN still declines), and an internet payment is confirmed with 3-D Secure
(a lock after wrong confirmations still declines). A tap past the no-PIN limit is answered "the terminal
will ask for the PIN", as it would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.cards.models import Card
from kartosfera.cards.usability import card_usability
from kartosfera.core.errors import ValidationFailed
from kartosfera.customers.selectors import customer_payments_stopped
from kartosfera.processing import pipeline
from kartosfera.processing.codes import Reason, code_for
from kartosfera.processing.models import Channel
from kartosfera.processing.pipeline import AuthorizationRequest, Context, Decline


class WhatIfChannel:
    """How the payment would be made, in the words of the form."""

    CONTACTLESS = "contactless"
    CHIP_AND_PIN = "chip_and_pin"
    ATM = "atm"
    ONLINE = "online"


WHAT_IF_CHANNELS: tuple[tuple[str, object], ...] = (
    (WhatIfChannel.CONTACTLESS, _("Contactless at a terminal")),
    (WhatIfChannel.CHIP_AND_PIN, _("Card and PIN at a terminal")),
    (WhatIfChannel.ATM, _("Cash from an ATM")),
    (WhatIfChannel.ONLINE, _("Online shop")),
)
# channel → (the request's channel, a PIN typed)
_REQUEST_CHANNEL: dict[str, tuple[str, bool]] = {
    WhatIfChannel.CONTACTLESS: (Channel.POS_CONTACTLESS, False),
    WhatIfChannel.CHIP_AND_PIN: (Channel.POS_CHIP, True),
    WhatIfChannel.ATM: (Channel.ATM, True),
    WhatIfChannel.ONLINE: (Channel.ECOMMERCE, False),
}

# The kinds of merchants the form offers, each with a merchant category code the payment is sent with:
# common kinds (processing/categories.py) and every category a holder can block (cards/merchant_categories.py).
_COMMON_CATEGORIES: tuple[tuple[str, object, str], ...] = (
    ("groceries", _("Groceries"), "5411"),
    ("restaurants", _("Restaurants and cafés"), "5812"),
    ("fuel", _("Fuel"), "5541"),
    ("electronics", _("Electronics"), "5732"),
    ("clothing", _("Clothing and shoes"), "5651"),
    ("flights", _("Flights"), "4511"),
    ("lodging", _("Hotels and lodging"), "7011"),
    ("digital", _("Digital goods and subscriptions"), "5815"),
)


def what_if_categories() -> list[tuple[str, str, str]]:
    """(key, label, MCC) of every kind of merchant the form offers."""
    from kartosfera.cards.merchant_categories import BLOCKABLE_CATEGORIES, representative_mcc

    common = [(key, str(label), mcc) for key, label, mcc in _COMMON_CATEGORIES]
    risky = [(c.key, str(c.label), representative_mcc(c.key)) for c in BLOCKABLE_CATEGORIES]
    return common + risky


@dataclass(frozen=True)
class Scenario:
    amount_minor: int
    currency: str
    channel: str
    merchant_country: str
    category: str


@dataclass(frozen=True)
class WhatIfAnswer:
    """Would be approved, or the reason and the setting that would decline it (codes.py)."""

    approved: bool
    reason: str = ""
    text: str = ""
    setting: str = ""
    # The tap would go through only with the PIN: the terminal asks for it (a soft decline, not a refusal).
    pin_needed: bool = False


def _request(card: Card, scenario: Scenario) -> AuthorizationRequest:
    channel, pin_entered = _REQUEST_CHANNEL[scenario.channel]
    mcc = next(mcc for key, _label, mcc in what_if_categories() if key == scenario.category)
    return AuthorizationRequest(
        processor_id="what-if",
        network_transaction_id="what-if",
        pan="",
        expiry=card.expiry,
        amount_minor=scenario.amount_minor,
        currency=scenario.currency,
        channel=channel,
        merchant_name="",
        merchant_country=scenario.merchant_country.upper(),
        mcc=mcc,
        pin_entered=pin_entered,
    )


def _pin_as_typed(ctx: Context) -> Decline | None:
    """The PIN is assumed right (the asker cannot be asked for it here); a PIN blocked by wrong tries still declines."""
    if ctx.request.pin_entered and ctx.usability.pin_blocked:
        return Decline(Reason.PIN_TRIES_EXCEEDED)
    return None


# The pipeline's checks, with the two that need what only a real payment carries replaced: the PIN (assumed
# right) and 3-D Secure (assumed confirmed; check_internet_lock still runs).
_SUBSTITUTES: dict[pipeline.Check, pipeline.Check | None] = {
    pipeline.check_pin: _pin_as_typed,
    pipeline.check_sca: None,
}
WHAT_IF_CHECKS: tuple[pipeline.Check, ...] = tuple(
    substitute for check in pipeline.CHECKS if (substitute := _SUBSTITUTES.get(check, check)) is not None
)


def what_if(card: Card, scenario: Scenario, *, now: dt.datetime | None = None) -> WhatIfAnswer:
    """Run ``scenario`` through the pipeline for ``card`` without writing anything; ValidationFailed for bad input."""
    from kartosfera.processing.services import billing_of

    if scenario.channel not in _REQUEST_CHANNEL:
        raise ValidationFailed({"channel": str(_("Choose how you would pay."))})
    if scenario.category not in {key for key, _label, _mcc in what_if_categories()}:
        raise ValidationFailed({"category": str(_("Choose the kind of merchant."))})
    now = now or timezone.now()
    request = _request(card, scenario)
    account = card.account
    billing = billing_of(request, account.currency, now=now)
    ctx = Context(
        request=request,
        card=card,
        account=account,
        brand=card.product.brand,
        usability=card_usability(card, now=now),
        now=now,
        local_date=timezone.localdate(now),
        billing_minor=billing.minor,
        approve_minor=billing.minor,
        # Read as the decision reads it (the customer's column): a stopped customer's payment would be declined.
        customer_stopped=customer_payments_stopped(card.customer_id),
    )
    decline, _decided_by = pipeline.run_pipeline(ctx, WHAT_IF_CHECKS)
    if decline is None:
        return WhatIfAnswer(approved=True)
    code = code_for(decline.reason)
    return WhatIfAnswer(
        approved=False,
        reason=decline.reason,
        text=str(code.text),
        setting=code.setting,
        pin_needed=decline.reason == Reason.CONTACTLESS_PIN_REQUIRED,
    )
