"""Building cards and authorization requests for the card core's tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import uuid
from collections import defaultdict
from typing import Any

from django.db.models import Sum

from kartosfera.accounts.models import Account
from kartosfera.acs.models import AuthenticationRecord
from kartosfera.cards.models import Brand, Card
from kartosfera.cards.operations_services import card_activate
from kartosfera.cards.pin import pin_verification_value
from kartosfera.cards.pinblock import pin_block_encipher
from kartosfera.core.audit import Actor
from kartosfera.demo.identifiers import make_pan
from kartosfera.processing.models import (
    CHANNEL_LIMITS,
    HOLDING_STATUSES,
    Authorization,
    AuthorizationStatus,
    Channel,
    DailySpend,
    Posting,
    PostingKind,
)
from kartosfera.processing.pipeline import AuthorizationRequest
from kartosfera.processing.services import Decision, authorization_decide
from kartosfera.testing import factories

PROCESSOR = Actor(type="api_client", id="kfk_test", label="card processor")
PIN = "2468"
_serial = itertools.count(500_000)
_ids = itertools.count(1)


@dataclasses.dataclass
class CardFixture:
    card: Card
    pan: str

    @property
    def account(self) -> Account:
        return Account.objects.get(pk=self.card.account_id)

    def refresh(self) -> Card:
        self.card.refresh_from_db()
        return self.card


def active_card(
    *,
    brand: str = Brand.VISA,
    balance_minor: int = 1_000_000,
    activate: bool = True,
    card_overrides: dict[str, Any] | None = None,
    **product_overrides: Any,
) -> CardFixture:
    """An activated card with its own customer and account, PIN ``PIN``, ``balance_minor`` on the account."""
    customer = factories.customer_factory()
    product = factories.product_factory(brand=brand, **product_overrides)
    account = factories.account_factory(customer=customer, balance_minor=balance_minor, currency=product.currency)
    pan = make_pan("400000" if brand == Brand.VISA else "555555", next(_serial))
    card = factories.card_factory(
        customer=customer, product=product, account=account, pan=pan, **(card_overrides or {})
    )
    if activate:
        card = card_activate(actor=factories.SYSTEM, card=card)
    card.pin_verification_value = pin_verification_value(PIN, card=card)
    card.save(update_fields=["pin_verification_value"])
    return CardFixture(card=card, pan=pan)


def request_for(tc: CardFixture, **overrides: Any) -> AuthorizationRequest:
    n = next(_ids)
    values: dict[str, Any] = {
        "processor_id": f"auth-{n:08d}",
        "network_transaction_id": f"NTX{n:012d}",
        "pan": tc.pan,
        "expiry": tc.card.expiry,
        "amount_minor": 4_250,
        "currency": tc.card.account.currency,
        "channel": Channel.POS_CHIP,
        "merchant_name": "Biedronka 1234",
        "merchant_city": "Warszawa",
        "merchant_country": "PL",
        "mcc": "5411",
        "merchant_id": "MID000123",
        "terminal_id": "T0001",
    }
    values.update(overrides)
    return AuthorizationRequest(**values)


def decide(tc: CardFixture, *, pin: str | None = None, now: Any = None, **overrides: Any) -> Decision:
    """Decide a request; ``pin`` is what the holder typed, sent as a real format-4 PIN block."""
    request = request_for(tc, **overrides)
    pin_block = None if pin is None else pin_block_encipher(pin=pin, pan=request.pan).hex().upper()
    return authorization_decide(actor=PROCESSOR, request=request, pin_block=pin_block, now=now)


# The 3-D Secure PIN authenticate() gives a holder who has none (never a card's PIN: PIN above).
THREEDS_PIN = "7391"
DIRECTORY_SERVER = Actor(type="api_client", id="kfk_ds", label="directory server")


def authenticate(
    tc: CardFixture,
    *,
    amount_minor: int = 4_250,
    merchant_id: str = "MID000123",
    currency: str | None = None,
    mcc: str = "5411",
    challenge: bool = True,
    now: Any = None,
) -> AuthenticationRecord:
    """A 3-D Secure authentication of a payment by our ACS, as the merchant's 3DS server gets it (the defaults are
    request_for's payment).

    ``challenge``: the 3DS requestor mandates a challenge, and the holder passes it (the 3DS PIN and the SMS
    code: ``challenge_end``, which resets the PSD2 counters); else the ACS must answer a frictionless Y (an
    exemption of its own). The record has the value and the ECI to send (``three_ds``).
    """
    from kartosfera.acs.currencies import numeric_of
    from kartosfera.acs.models import TransStatus
    from kartosfera.acs.services import AReq, areq_answer, challenge_end
    from kartosfera.cards.pin import threeds_pin_verification_value
    from kartosfera.secure3d.models import ThreeDSProfile

    customer = tc.card.customer
    profile, _created = ThreeDSProfile.objects.get_or_create(customer=customer)
    if not profile.has_pin:
        profile.pin_verification_value = threeds_pin_verification_value(THREEDS_PIN, customer=customer)
        profile.save(update_fields=["pin_verification_value"])
    fields: dict[str, Any] = {
        "messageType": "AReq",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": str(uuid.uuid4()),
        "acctNumber": tc.pan,
        "deviceChannel": "02",
        "messageCategory": "01",
        "purchaseAmount": str(amount_minor),
        "purchaseCurrency": numeric_of(currency or tc.card.account.currency),
        "purchaseExponent": "2",
        "purchaseDate": "20261130101500",
        "merchantName": "Biedronka 1234",
        "mcc": mcc,
        "merchantCountryCode": "616",
        "acquirerBIN": "412345",
        "acquirerMerchantID": merchant_id,
        "notificationURL": "https://merchant.example/3ds/notify",
    }
    if challenge:
        fields["threeDSRequestorChallengeInd"] = "04"  # mandated: no exemption applies
    ares = json.loads(
        areq_answer(
            actor=DIRECTORY_SERVER,
            areq=AReq(fields=fields, pan=tc.pan),
            challenge_url="https://testserver/acs/challenge",
            now=now,
        )
    )
    record = AuthenticationRecord.objects.get(acs_trans_id=ares["acsTransID"])
    if challenge:
        assert ares["transStatus"] == TransStatus.CHALLENGE, ares
        record = challenge_end(actor=DIRECTORY_SERVER, record=record, authenticated=True, now=now)
    else:
        assert ares["transStatus"] == TransStatus.AUTHENTICATED, ares
    return record


def three_ds(record: AuthenticationRecord) -> dict[str, str]:
    """The authorization request's 3-D Secure fields for ``record``'s authentication."""
    return {"eci": record.eci, "authentication_value": record.authentication_value}


def card_of(customer: Any, product: Any, *, balance_minor: int | None = None) -> CardFixture:
    """An activated card of ``customer`` (e.g. the shared cast's) whose full number the test knows."""
    pan = make_pan("400000" if product.brand == Brand.VISA else "555555", next(_serial))
    card = card_activate(
        actor=factories.SYSTEM, card=factories.card_factory(customer=customer, product=product, pan=pan)
    )
    if balance_minor is not None:
        Account.objects.filter(pk=card.account_id).update(balance_minor=balance_minor)
        card.account.refresh_from_db()
    return CardFixture(card=card, pan=pan)


def books_check(tc: CardFixture, *, opening: int) -> None:
    """The card core's books of one card's account, recomputed from their definitions (docs/processing.md).

    - held == the sum of the open (pending, partially settled) authorizations' holds, and a partially
      settled authorization has a clearing posted and something still held;
    - balance == opening + the postings' changes;
    - each day's counter of the card == the open holds of that day + the clearings of that day's authorizations + the
      force posts of that day (in their channel's limits, else by MCC) - the clearing reversals of them.
    """
    account = tc.account
    open_ones = Authorization.objects.filter(account=account, status__in=HOLDING_STATUSES)
    assert account.held_minor == (open_ones.aggregate(s=Sum("held_minor"))["s"] or 0)
    for authorization in Authorization.objects.filter(account=account, status=AuthorizationStatus.PARTIALLY_SETTLED):
        assert authorization.held_minor > 0
        assert authorization.postings.filter(kind=PostingKind.CLEARING).exists()
    postings = list(Posting.objects.filter(account=account).select_related("authorization", "original"))
    assert account.balance_minor == opening + sum(p.balance_change_minor for p in postings)
    # The counters are the card's (an account may have several cards).
    expected: dict[tuple[dt.date, str], int] = defaultdict(int)
    for authorization in open_ones.filter(card=tc.card):
        for group in CHANNEL_LIMITS[authorization.channel]:
            expected[(authorization.local_date, group)] += authorization.held_minor

    def groups(posting: Posting) -> tuple[str, ...]:
        if posting.kind == PostingKind.CLEARING:
            assert posting.authorization is not None
            return CHANNEL_LIMITS[posting.authorization.channel]
        if posting.channel:
            return CHANNEL_LIMITS[posting.channel]
        return ("cash",) if posting.mcc in ("6010", "6011") else ("noncash",)

    for posting in postings:
        if posting.card_id != tc.card.pk:
            continue
        if posting.kind in (PostingKind.CLEARING, PostingKind.FORCE_POST):
            for group in groups(posting):
                expected[(posting.local_date, group)] += posting.billing_amount_minor
        elif posting.kind == PostingKind.CLEARING_REVERSAL:
            assert posting.original is not None and posting.local_date == posting.original.local_date
            for group in groups(posting.original):
                expected[(posting.local_date, group)] -= posting.billing_amount_minor
    stored = {(row.local_date, row.group): row.amount_minor for row in DailySpend.objects.filter(card=tc.card)}
    pairs = {k: (stored.get(k, 0), expected.get(k, 0)) for k in stored.keys() | expected.keys()}
    differ = {k: v for k, v in pairs.items() if v[0] != v[1]}
    assert not differ, f"the counters (stored, expected) differ: {differ}"
    # Nothing gives back more than its original took.
    given_back: dict[int, int] = defaultdict(int)
    for posting in postings:
        if posting.original is not None:
            given_back[posting.original.pk] += posting.billing_amount_minor
            assert given_back[posting.original.pk] <= posting.original.billing_amount_minor
