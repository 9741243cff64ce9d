"""The decision pipeline: an ordered tuple of small named checks (docs/processing.md, "Pipeline").

Each check takes the context and returns a ``Decline`` or None (go on). The
order is the issue's: card known → expiry → state → the customer's stop of everything → PIN → channel switches →
contactless without PIN (PSD2 art. 11) → wallet → e-commerce (3-D Secure lock,
our ACS's authentication value or a PSD2 exemption) → daily limits → funds → approve. The PSD2 counters'
rules are in exemptions.py; the checks leave the card's new values on the
context (``card_updates``, and ``counted`` for an approval) for the service.
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

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kartosfera.accounts.models import Account
from kartosfera.acs.models import AuthenticationRecord, Exemption
from kartosfera.acs.services import AuthenticationValueInvalid, authentication_value_check
from kartosfera.cards.models import Card, LimitChannel
from kartosfera.cards.pin import PIN_TRY_LIMIT
from kartosfera.cards.pinblock import PinBlockInvalid, PinCheck, pin_block_verify
from kartosfera.cards.usability import Unusable, Usability
from kartosfera.core.errors import ValidationFailed
from kartosfera.processing import exemptions
from kartosfera.processing.codes import Reason
from kartosfera.processing.conversion import ReferenceRate, eur_pln_reference_rate
from kartosfera.processing.models import (
    CHANNEL_COUNT,
    CHANNEL_LIMITS,
    CLAIMABLE_EXEMPTIONS,
    Channel,
    DailySpend,
    ScaExemption,
    spend_groups,
)

# The country a payment is not "abroad" in: the cooperative banks' cards are Polish (ISO 3166 alpha-2).
HOME_COUNTRY = "PL"


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
    # The PSD2 exemption the acquirer claims for an internet payment without 3-D Secure (ScaExemption, "" none).
    sca_exemption: str = ""
    # The wallet token a phone wallet paid with (its token service provider's reference; "" none): check_wallet
    # declines a payment whose token is not the card's active one (kartosfera/tokens).
    token_reference: str = ""

    def __post_init__(self) -> None:
        if not self.sca_exemption:
            return
        if self.sca_exemption not in CLAIMABLE_EXEMPTIONS:
            raise ValidationFailed({"sca_exemption": str(_("This SCA exemption is not known."))})
        if self.channel != Channel.ECOMMERCE:
            # Art. 13, 16 and 18 (and merchant-initiated payments) are about remote payments; a card-present
            # payment is decided by its PIN and the contactless rules.
            raise ValidationFailed(
                {"sca_exemption": str(_("An SCA exemption can be claimed only for an internet payment."))}
            )


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
    # The card row's new values whatever the decision (the wrong-PIN counter, the PSD2 counters' reset by an SCA).
    card_updates: dict[str, object] = field(default_factory=dict)
    # The PSD2 counter this payment counts in if approved (exemptions.Kind; EBA: executed payments only).
    counted: str | None = None
    # The exemption the payment relies on instead of SCA (ScaExemption; "" when authenticated or none needed).
    sca_exemption: str = ""
    # The 3-D Secure authentication whose value the payment carries, checked and locked (check_sca): used and
    # linked to the authorization if it is approved.
    authentication: AuthenticationRecord | None = None
    # Today's used amount per limit group: read with the card (services.py) or by the limit check.
    spent: dict[str, int] = field(default_factory=dict)
    spent_read: bool = False
    # Today's approved payments per counter group (CHANNEL_COUNT), read with ``spent``: the count limits.
    counts: dict[str, int] = field(default_factory=dict)
    # The EUR/PLN reference rate for the PSD2 ceilings: read with the card (services.py) or when first needed.
    reference_rate: ReferenceRate | None = None
    # The customer stopped every payment ("stop everything"): read with the card (processing/rows.py).
    customer_stopped: bool = False

    def card_updates_for(self, *, approved: bool) -> dict[str, object]:
        """The card row's new values after the decision: ``card_updates``, plus the PSD2 counter of an approval."""
        updates = dict(self.card_updates)
        if approved and self.counted is not None:
            counters = exemptions.counters_of(self.card, self.counted)
            updates.update(exemptions.counted(self.counted, counters, self.approve_minor))
        return updates

    def eur_pln_rate(self) -> ReferenceRate:
        if self.reference_rate is None:
            self.reference_rate = eur_pln_reference_rate(at=self.now)
        return self.reference_rate

    def payment_valued(self) -> exemptions.Payment:
        """The payment for the PSD2 ceilings, with the EUR/PLN reference rate (one query)."""
        request = self.request
        return exemptions.Payment(
            amount_minor=request.amount_minor,
            currency=request.currency,
            billing_minor=self.billing_minor,
            account_currency=self.account.currency,
            pln_per_eur=self.eur_pln_rate().pln_per_eur,
        )

    @property
    def partial_allowed(self) -> bool:
        # Partial approval only without conversion: the approved amount is then the same in both currencies.
        request = self.request
        return request.partial_supported and request.currency == self.account.currency

    @property
    def limit_groups(self) -> tuple[str, ...]:
        return CHANNEL_LIMITS[self.request.channel]

    @property
    def count_group(self) -> str | None:
        return CHANNEL_COUNT[self.request.channel]

    @property
    def spend_groups(self) -> tuple[str, ...]:
        """The day's counters this payment reads and, approved, writes: its limits' and its count's."""
        return spend_groups(self.request.channel)


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


def check_customer_stop(ctx: Context) -> Decline | None:
    """Every payment of every card of a customer who stopped everything is declined, a wallet's token too
    (it pays through the card): before the PIN, so a wrong PIN typed meanwhile does not count (docs/stop-everything.md).
    """
    return Decline(Reason.CUSTOMER_STOPPED) if ctx.customer_stopped else None


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
        # A right PIN under an older PIN key is rewritten under the newest, in this transaction (card_updates).
        result = pin_block_verify(
            card=ctx.card, pan=request.pan, pin_block=ctx.pin_block, card_updates=ctx.card_updates
        )
    except PinBlockInvalid:
        # A block we cannot open (a key mix-up with the processor, or a forged block) says nothing
        # about the holder's PIN: declined, never counted as a wrong PIN (docs/pin.md).
        return Decline(Reason.PIN_UNVERIFIABLE)
    if result in (PinCheck.NOT_SET, PinCheck.KEY_REMOVED):
        # No PIN was ever set for the card, or its value was made under a PIN key since removed (logged):
        # nothing to compare with, and nothing to count against the holder.
        return Decline(Reason.PIN_UNVERIFIABLE)
    if result is PinCheck.MATCH:
        if ctx.card.wrong_pin_count:
            ctx.card_updates["wrong_pin_count"] = 0
        # A right PIN is strong customer authentication (the card + the PIN): it resets the PSD2 counters
        # (EBA Q&A 2018_4226: any SCA at a terminal or ATM), whatever the rest of the decision.
        ctx.card_updates.update(exemptions.reset(ctx.card))
        return None
    wrong = ctx.card.wrong_pin_count + 1
    ctx.card_updates["wrong_pin_count"] = wrong
    return Decline(Reason.PIN_TRIES_EXCEEDED if wrong >= PIN_TRY_LIMIT else Reason.PIN_WRONG)


def check_contactless(ctx: Context) -> Decline | None:
    if ctx.request.channel != Channel.POS_CONTACTLESS:
        return None
    return None if ctx.card.controls.is_on("contactless") else Decline(Reason.CONTACTLESS_DISABLED)


def _switched_off(ctx: Context, name: str, channels: frozenset[str], reason: str) -> Decline | None:
    if ctx.request.channel not in channels:
        return None
    return None if ctx.card.controls.is_on(name) else Decline(reason)


def check_atm(ctx: Context) -> Decline | None:
    return _switched_off(ctx, "atm", frozenset({Channel.ATM}), Reason.ATM_DISABLED)


def check_online(ctx: Context) -> Decline | None:
    return _switched_off(ctx, "online", frozenset({Channel.ECOMMERCE}), Reason.ONLINE_DISABLED)


def check_magstripe(ctx: Context) -> Decline | None:
    return _switched_off(ctx, "magstripe", frozenset({Channel.MAGSTRIPE}), Reason.MAGSTRIPE_DISABLED)


def check_moto(ctx: Context) -> Decline | None:
    # A mail or telephone order reaches the card core as the card's number keyed in (Channel.MANUAL).
    return _switched_off(ctx, "moto", frozenset({Channel.MANUAL}), Reason.MOTO_DISABLED)


def check_abroad(ctx: Context) -> Decline | None:
    """Abroad = a merchant (or ATM) whose country is not Poland, online shops included; an unknown country is not."""
    country = ctx.request.merchant_country.upper()
    if not country or country == HOME_COUNTRY:
        return None
    return None if ctx.card.controls.is_on("abroad") else Decline(Reason.ABROAD_DISABLED)


def check_country(ctx: Context) -> Decline | None:
    """The card's country rule: only the chosen countries, or every country but them."""
    allowed = ctx.card.controls.country_allowed(ctx.request.merchant_country)
    return None if allowed else Decline(Reason.COUNTRY_BLOCKED)


def check_merchant_category(ctx: Context) -> Decline | None:
    """A merchant whose category code (MCC) is in a category the holder blocked (cards/merchant_categories.py)."""
    if not ctx.card.category_blocks:  # most cards: no category blocked, nothing to look up
        return None
    from kartosfera.cards.merchant_categories import category_of_mcc

    category = category_of_mcc(ctx.request.mcc)
    if category is None or ctx.card.controls.category_block(category.key, now=ctx.now) is None:
        return None
    return Decline(Reason.MERCHANT_CATEGORY_BLOCKED)


def check_contactless_exemption(ctx: Context) -> Decline | None:
    """A tap without a PIN relies on RTS art. 11: within the country's no-PIN limit and the contactless counter.

    Past either, the soft decline that makes the terminal ask for the PIN (Visa 70, Mastercard 65); the
    tap with the PIN that follows resets the counters (check_pin). A phone wallet's payment is not counted:
    the phone verifies its holder itself (docs/processing.md).
    """
    request = ctx.request
    if request.channel != Channel.POS_CONTACTLESS or request.pin_entered:
        return None
    ceilings = exemptions.contactless_ceilings(request.merchant_country, settings.CONTACTLESS_NO_PIN_LIMITS_PLN_MINOR)
    counters = exemptions.counters_of(ctx.card, exemptions.Kind.CONTACTLESS)
    if not exemptions.within_all(ceilings, counters, ctx.payment_valued(), mode=settings.PSD2_EXEMPTION_COUNTER):
        return Decline(Reason.CONTACTLESS_PIN_REQUIRED)
    ctx.counted = exemptions.Kind.CONTACTLESS
    ctx.sca_exemption = ScaExemption.CONTACTLESS
    return None


def check_wallet(ctx: Context) -> Decline | None:
    """A phone wallet pays only with mobile payments on and, when it names its token, an active token of this card.

    The token service usually refuses a suspended token itself (research §1); the bank's own check
    holds while a suspend command is still on its way to the provider (tokens/delivery.py).
    """
    if ctx.request.channel != Channel.WALLET and not ctx.request.token_reference:
        return None
    if not ctx.card.controls.is_on("mobile_payments"):
        return Decline(Reason.MOBILE_PAYMENTS_DISABLED)
    if not ctx.request.token_reference:
        return None
    from kartosfera.tokens.selectors import token_status_for_payment
    from kartosfera.tokens.states import TokenStatus

    status = token_status_for_payment(card=ctx.card, token_reference=ctx.request.token_reference)
    if status == TokenStatus.ACTIVE:
        return None
    # Suspended may come back (the holder, the card's unblock); requested, deleted or not this card's never will.
    return Decline(Reason.TOKEN_SUSPENDED if status == TokenStatus.SUSPENDED else Reason.TOKEN_NOT_USABLE)


def check_internet_lock(ctx: Context) -> Decline | None:
    if ctx.request.channel != Channel.ECOMMERCE:
        return None
    from kartosfera.customers.models import Customer
    from kartosfera.secure3d.services import threeds_is_locked

    # The customer's id is enough for the query: no need to load the row.
    locked = threeds_is_locked(customer=Customer(pk=ctx.card.customer_id), now=ctx.now)
    return Decline(Reason.INTERNET_PAYMENTS_LOCKED) if locked else None


def check_sca(ctx: Context) -> Decline | None:
    """An internet payment needs our 3-D Secure authentication, or a PSD2 exemption Kartosfera itself grants
    (docs/processing.md, "PSD2 exemptions"; docs/3d-secure.md, "In the card core").

    With an authentication value: it must be one our ACS gave for this payment (``_check_authentication``);
    any failure is the SCA soft decline, whatever the acquirer claims besides. Without one, the card core grants
    the exemptions itself, from what it knows: a merchant-initiated payment is outside SCA; a claimed low-value
    payment within the remote counter and the customer's switch (RTS art. 16); a claimed TRA of the acquirer up
    to EUR 500 (art. 18, the acquirer's liability); a merchant on the customer's trusted list (art. 13), claimed
    or not. Every remote payment the payer makes without SCA counts in the remote counter once approved.
    """
    request = ctx.request
    if request.channel != Channel.ECOMMERCE:
        return None
    if request.authentication_value:
        return _check_authentication(ctx)
    claim = request.sca_exemption
    if claim == ScaExemption.MERCHANT_INITIATED:
        # Initiated by the merchant under a mandate, not by the payer: outside SCA and outside art. 16's count.
        ctx.sca_exemption = claim
        return None
    if _claim_holds(ctx, claim):
        ctx.sca_exemption = claim
    elif _trusted_merchant(ctx):
        ctx.sca_exemption = ScaExemption.TRUSTED_BENEFICIARY
    else:
        return Decline(Reason.SCA_REQUIRED)
    ctx.counted = exemptions.Kind.REMOTE
    return None


def _check_authentication(ctx: Context) -> Decline | None:
    """The payment's authentication value, checked against our ACS's record (locked until the decision commits).

    A Y after a challenge is SCA: nothing is counted, and nothing is reset here (``challenge_end`` reset the
    counters at the moment of the SCA). A frictionless Y rests on an exemption the ACS granted: not SCA, so the
    payment counts in the remote counter once approved; a low-value one is checked against the counter again
    now, under the card's lock, as several frictionless Ys given before any was authorized must not take the
    card past the ceilings together, and a trusted-merchant one against the holder's list. The service marks
    the value used only if the payment is approved.
    """
    request = ctx.request
    try:
        record = authentication_value_check(
            request.authentication_value,
            card=ctx.card,
            amount_minor=request.amount_minor,
            currency=request.currency,
            merchant_id=request.merchant_id,
            eci=request.eci,
            now=ctx.now,
        )
    except AuthenticationValueInvalid:
        return Decline(Reason.SCA_REQUIRED)
    if record.exemption == Exemption.LOW_VALUE:
        if not _low_value_allowed(ctx):
            return Decline(Reason.SCA_REQUIRED)
        ctx.sca_exemption = ScaExemption.LOW_VALUE
        ctx.counted = exemptions.Kind.REMOTE
    elif record.exemption == Exemption.TRUSTED_MERCHANT:
        # The holder may have removed the merchant since: the list decides at the payment, as without a value.
        if not _trusted_merchant(ctx):
            return Decline(Reason.SCA_REQUIRED)
        ctx.sca_exemption = ScaExemption.TRUSTED_BENEFICIARY
        ctx.counted = exemptions.Kind.REMOTE
    ctx.authentication = record
    return None


def _claim_holds(ctx: Context, claim: str) -> bool:
    """A low-value claim within art. 16's counter; a TRA claim up to art. 18's EUR 500 (the acquirer's liability).

    A trusted-beneficiary claim holds only by the customer's list, which applies claimed or not (check_sca).
    """
    if claim == ScaExemption.LOW_VALUE:
        return _low_value_allowed(ctx)
    if claim == ScaExemption.TRA:
        return exemptions.payment_within(exemptions.TRA_MAX, ctx.payment_valued())
    return False


def _low_value_allowed(ctx: Context) -> bool:
    """The customer's switch is on (no profile: on, the default) and the payment fits art. 16 and the bank's rule."""
    from kartosfera.secure3d.models import ThreeDSProfile

    switched_off = ThreeDSProfile.objects.filter(customer_id=ctx.card.customer_id, low_value_exemption=False).exists()
    if switched_off:
        return False
    ceilings = (exemptions.LOW_VALUE_RTS, exemptions.low_value_bank_ceiling())
    counters = exemptions.counters_of(ctx.card, exemptions.Kind.REMOTE)
    return exemptions.within_all(ceilings, counters, ctx.payment_valued(), mode=settings.PSD2_EXEMPTION_COUNTER)


def _trusted_merchant(ctx: Context) -> bool:
    from kartosfera.secure3d.models import TrustedMerchant

    merchant_id = ctx.request.merchant_id
    return bool(merchant_id) and (
        TrustedMerchant.objects.filter(customer_id=ctx.card.customer_id, merchant_id=merchant_id).exists()
    )


_LIMIT_REASONS: dict[str, str] = {
    LimitChannel.CASH: Reason.CASH_LIMIT_EXCEEDED,
    LimitChannel.NONCASH: Reason.NONCASH_LIMIT_EXCEEDED,
    LimitChannel.INTERNET: Reason.INTERNET_LIMIT_EXCEEDED,
}


def read_spent(ctx: Context) -> None:
    """Read the day's used amounts and counts of the payment's counters into ``ctx.spent``/``counts`` (one query)."""
    rows = DailySpend.objects.filter(card_id=ctx.card.pk, local_date=ctx.local_date, group__in=ctx.spend_groups)
    for group, amount, count in rows.values_list("group", "amount_minor", "count"):
        ctx.spent[group] = amount
        ctx.counts[group] = count
    ctx.spent_read = True


def check_daily_limits(ctx: Context) -> Decline | None:
    """Today's (Warsaw) used amount + this payment within each daily limit the channel counts against.

    The limit is the effective one: a temporary raise while it lasts (cards/controls.py).
    """
    groups = ctx.limit_groups
    if not ctx.spent_read:
        read_spent(ctx)
    for group in groups:
        # The card's controls (cards/controls.py): a daily limit's name is its counter group.
        room = ctx.card.controls.effective_limit_minor(group, now=ctx.now) - ctx.spent.get(group, 0)
        if ctx.approve_minor <= room:
            continue
        if ctx.partial_allowed and room > 0:
            ctx.approve_minor = room
            continue
        return Decline(_LIMIT_REASONS[group])
    return None


# The count limit of each counter group (cards/controls.py) and its decline.
_COUNT_LIMITS: dict[str, tuple[str, str]] = {
    "cash": ("atm_count", Reason.ATM_COUNT_EXCEEDED),
    "pos": ("pos_count", Reason.POS_COUNT_EXCEEDED),
    "internet": ("online_count", Reason.ONLINE_COUNT_EXCEEDED),
}


def check_daily_counts(ctx: Context) -> Decline | None:
    """Today's (Warsaw) approved payments of the channel + this one within the holder's count limit, if any."""
    group = ctx.count_group
    if group is None:
        return None
    name, reason = _COUNT_LIMITS[group]
    limit = ctx.card.controls.count_limit(name)
    if limit is None:
        return None
    if not ctx.spent_read:
        read_spent(ctx)
    return Decline(reason) if ctx.counts.get(group, 0) + 1 > limit else None


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
    check_customer_stop,
    check_pin,
    check_contactless,
    check_atm,
    check_online,
    check_magstripe,
    check_moto,
    check_abroad,
    check_country,
    check_merchant_category,
    check_contactless_exemption,
    check_wallet,
    check_internet_lock,
    check_sca,
    check_daily_limits,
    check_daily_counts,
    check_funds,
)


# An incremental authorization (hotel, fuel, car rental) adds to an approved one: the card must still be
# usable and the extra amount fit the limits and funds; the PIN, the channel and 3-D Secure were settled
# by the original.
INCREMENT_CHECKS: tuple[Check, ...] = (
    check_expiry,
    check_state,
    check_customer_stop,
    check_daily_limits,
    check_funds,
)


def run_pipeline(ctx: Context, checks: tuple[Check, ...] = CHECKS) -> tuple[Decline | None, str]:
    """The first decline and the name of the check that decided ("approve" when none declined)."""
    for check in checks:
        decline = check(ctx)
        if decline is not None:
            return decline, check.__name__.removeprefix("check_")
    return None, "approve"
