"""The decision pipeline: an ordered tuple of small named checks (docs/processing.md, "Pipeline").

Each check takes the context and returns a ``Decline`` or None (go on). The
order is the issue's: card known → expiry → state → PIN → channel switches →
wallet → e-commerce (3-D Secure lock, SCA) → daily limits → funds → approve.
The card-known check runs in the service (there is no card to lock before
it). The limit and funds checks may lower ``ctx.approve_minor`` for a partial
approval instead of declining. Adding a check = one function here (placed in
``CHECKS``) + one row in codes.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from kartosfera.accounts.models import Account
from kartosfera.cards.models import Brand, Card, LimitChannel
from kartosfera.cards.pin import PIN_TRY_LIMIT
from kartosfera.cards.pinblock import PinBlockInvalid, PinCheck, pin_block_verify
from kartosfera.cards.usability import Unusable, Usability
from kartosfera.processing.codes import Reason
from kartosfera.processing.models import CHANNEL_LIMITS, Channel, DailySpend


@dataclass(frozen=True)
class AuthorizationRequest:
    """What the processor asks, parsed (the API's schema checked shapes and lengths).

    ``pan`` is the full card number: it is used to find the card and never
    stored, logged or shown (``repr=False``). ``expiry`` is the last day of the
    card's expiry month. The billing fields are None when the scheme did not
    convert (the transaction is in the account's currency).
    """

    processor_id: str
    network_transaction_id: str
    pan: str = field(repr=False)
    expiry: dt.date
    amount_minor: int
    currency: str
    channel: str
    merchant_name: str
    merchant_country: str
    mcc: str
    merchant_city: str = ""
    merchant_id: str = ""
    terminal_id: str = ""
    billing_amount_minor: int | None = None
    billing_currency: str | None = None
    billing_rate: Decimal | None = None
    partial_supported: bool = False
    eci: str = ""
    authentication_value: str = field(default="", repr=False)
    ds_transaction_id: str = ""
    # A PIN was entered at the terminal (the request carried a PIN block).
    pin_entered: bool = False


@dataclass(frozen=True)
class Decline:
    reason: str


@dataclass
class Context:
    request: AuthorizationRequest
    card: Card
    account: Account
    brand: str
    usability: Usability
    now: dt.datetime
    local_date: dt.date
    # The amount in the account's currency; approve_minor may be lowered by a partial approval.
    billing_minor: int
    approve_minor: int
    # The request's ISO 9564 format-4 PIN block (hex), opened only inside the PIN check; never stored.
    pin_block: str | None = field(default=None, repr=False)
    # The card's wrong-PIN counter after this request, when the PIN check changed it.
    wrong_pin_count: int | None = None
    # Today's used amount per limit group: read with the card (services.py) or by the limit check.
    spent: dict[str, int] = field(default_factory=dict)
    spent_read: bool = False

    @property
    def partial_allowed(self) -> bool:
        # Partial approval only without conversion: the approved amount is then the same in both currencies.
        request = self.request
        return request.partial_supported and request.currency == self.account.currency

    @property
    def limit_groups(self) -> tuple[str, ...]:
        return CHANNEL_LIMITS[self.request.channel]


Check = Callable[[Context], Decline | None]


def check_expiry(ctx: Context) -> Decline | None:
    return Decline(Reason.CARD_EXPIRED) if ctx.usability.expired else None


_STATE_REASONS = {
    Unusable.NOT_ACTIVATED: Reason.CARD_NOT_ACTIVATED,
    Unusable.BLOCKED_BY_HOLDER: Reason.CARD_BLOCKED_BY_HOLDER,
    Unusable.BLOCKED_BY_BANK: Reason.CARD_BLOCKED_BY_BANK,
    Unusable.LOST: Reason.CARD_LOST,
    Unusable.STOLEN: Reason.CARD_STOLEN,
    Unusable.CANCELLED: Reason.CARD_CANCELLED,
}


def check_state(ctx: Context) -> Decline | None:
    blocked_by = ctx.usability.blocked_by
    return Decline(_STATE_REASONS[blocked_by]) if blocked_by is not None else None


def check_pin(ctx: Context) -> Decline | None:
    """An entered PIN is verified against the card's keyed value; the 3rd wrong one in a row blocks the PIN.

    A right PIN resets the counter; once blocked, every PIN payment gets 75 until
    the bank resets it. An ATM withdrawal always needs a PIN.
    """
    request = ctx.request
    if not request.pin_entered:
        return Decline(Reason.PIN_REQUIRED) if request.channel == Channel.ATM else None
    if ctx.usability.pin_blocked:
        return Decline(Reason.PIN_TRIES_EXCEEDED)
    if ctx.pin_block is None:
        return Decline(Reason.PIN_UNVERIFIABLE)
    try:
        result = pin_block_verify(card=ctx.card, pan=request.pan, pin_block=ctx.pin_block)
    except PinBlockInvalid:
        # A block we cannot open (a key mix-up with the processor, or a forged block) says nothing
        # about the holder's PIN: declined, never counted as a wrong PIN (docs/pin.md).
        return Decline(Reason.PIN_UNVERIFIABLE)
    if result is PinCheck.NOT_SET:
        # No PIN was ever set for the card: nothing to compare with, and nothing to count.
        return Decline(Reason.PIN_UNVERIFIABLE)
    if result is PinCheck.MATCH:
        if ctx.card.wrong_pin_count:
            ctx.wrong_pin_count = 0
        return None
    ctx.wrong_pin_count = ctx.card.wrong_pin_count + 1
    return Decline(Reason.PIN_TRIES_EXCEEDED if ctx.wrong_pin_count >= PIN_TRY_LIMIT else Reason.PIN_WRONG)


def check_contactless(ctx: Context) -> Decline | None:
    if ctx.request.channel != Channel.POS_CONTACTLESS:
        return None
    return None if ctx.card.controls.is_on("contactless") else Decline(Reason.CONTACTLESS_DISABLED)


def check_wallet(ctx: Context) -> Decline | None:
    if ctx.request.channel == Channel.WALLET and not ctx.card.controls.is_on("mobile_payments"):
        return Decline(Reason.MOBILE_PAYMENTS_DISABLED)
    return None


# ECI values that carry a 3-D Secure authentication (research §6): authenticated or attempted.
AUTHENTICATED_ECI: dict[str, frozenset[str]] = {
    Brand.VISA: frozenset({"05", "06"}),
    Brand.MASTERCARD: frozenset({"01", "02"}),
}


def check_internet_lock(ctx: Context) -> Decline | None:
    if ctx.request.channel != Channel.ECOMMERCE:
        return None
    from kartosfera.customers.models import Customer
    from kartosfera.secure3d.services import threeds_is_locked

    # The customer's id is enough for the query: no need to load the row.
    locked = threeds_is_locked(customer=Customer(pk=ctx.card.customer_id), now=ctx.now)
    return Decline(Reason.INTERNET_PAYMENTS_LOCKED) if locked else None


def check_sca(ctx: Context) -> Decline | None:
    """An internet payment needs 3-D Secure, unless the merchant is on the customer's trusted list (PSD2 Art. 13)."""
    request = ctx.request
    if request.channel != Channel.ECOMMERCE:
        return None
    if request.eci in AUTHENTICATED_ECI[ctx.brand] and request.authentication_value:
        return None
    from kartosfera.secure3d.models import TrustedMerchant

    if (
        request.merchant_id
        and TrustedMerchant.objects.filter(customer_id=ctx.card.customer_id, merchant_id=request.merchant_id).exists()
    ):
        return None
    return Decline(Reason.SCA_REQUIRED)


_LIMIT_REASONS: dict[str, str] = {
    LimitChannel.CASH: Reason.CASH_LIMIT_EXCEEDED,
    LimitChannel.NONCASH: Reason.NONCASH_LIMIT_EXCEEDED,
    LimitChannel.INTERNET: Reason.INTERNET_LIMIT_EXCEEDED,
}


def read_spent(ctx: Context) -> None:
    """Read the day's used amounts of the limits the channel counts against into ``ctx.spent`` (one query)."""
    rows = DailySpend.objects.filter(card_id=ctx.card.pk, local_date=ctx.local_date, group__in=ctx.limit_groups)
    ctx.spent = dict(rows.values_list("group", "amount_minor"))
    ctx.spent_read = True


def check_daily_limits(ctx: Context) -> Decline | None:
    """Today's (Warsaw) used amount + this payment within each daily limit the channel counts against."""
    groups = ctx.limit_groups
    if not ctx.spent_read:
        read_spent(ctx)
    for group in groups:
        # The card's controls (cards/controls.py): a daily limit's name is its counter group.
        room = ctx.card.controls.limit_minor(group) - ctx.spent.get(group, 0)
        if ctx.approve_minor <= room:
            continue
        if ctx.partial_allowed and room > 0:
            ctx.approve_minor = room
            continue
        return Decline(_LIMIT_REASONS[group])
    return None


def check_funds(ctx: Context) -> Decline | None:
    available = ctx.account.available_minor
    if ctx.approve_minor <= available:
        return None
    if ctx.partial_allowed and available > 0:
        ctx.approve_minor = available
        return None
    return Decline(Reason.INSUFFICIENT_FUNDS)


CHECKS: tuple[Check, ...] = (
    check_expiry,
    check_state,
    check_pin,
    check_contactless,
    check_wallet,
    check_internet_lock,
    check_sca,
    check_daily_limits,
    check_funds,
)


# An incremental authorization (hotel, fuel, car rental) adds to an approved one: the card must still be
# usable and the extra amount fit the limits and funds; the PIN, the channel and 3-D Secure were settled
# by the original.
INCREMENT_CHECKS: tuple[Check, ...] = (check_expiry, check_state, check_daily_limits, check_funds)


def run_pipeline(ctx: Context, checks: tuple[Check, ...] = CHECKS) -> tuple[Decline | None, str]:
    """The first decline and the name of the check that decided ("approve" when none declined)."""
    for check in checks:
        decline = check(ctx)
        if decline is not None:
            return decline, check.__name__.removeprefix("check_")
    return None, "approve"
