"""Every check of the pipeline approves and declines, with each scheme's response code (research §1)."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

import pytest
import time_machine
from django.utils import timezone

from kartosfera.accounts.models import AccountKind
from kartosfera.cards.models import Brand, Funding
from kartosfera.cards.operations_services import (
    card_activate,
    card_block_temporarily,
    card_cancel,
    card_contactless_set,
)
from kartosfera.cards.pin import PIN_TRY_LIMIT
from kartosfera.cards.pinblock import pin_block_encipher
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.demo.identifiers import make_pan
from kartosfera.processing.models import Authorization, AuthorizationStatus, Channel
from kartosfera.processing.services import authorization_decide
from kartosfera.processing.tests.helpers import (
    PIN,
    PROCESSOR,
    CardFixture,
    active_card,
    authenticate,
    decide,
    request_for,
    three_ds,
)
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant
from kartosfera.testing import factories
from kartosfera.testing.factories import SYSTEM

pytestmark = pytest.mark.django_db
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")


def _codes(visa: str, mastercard: str, brand: str) -> str:
    return visa if brand == Brand.VISA else mastercard


def assert_declined(decision, reason: str, code: str) -> Authorization:
    authorization = decision.authorization
    assert (authorization.approved, authorization.decline_reason, authorization.response_code) == (False, reason, code)
    assert authorization.status == AuthorizationStatus.DECLINED
    assert authorization.held_minor == 0
    return authorization


def assert_approved(decision) -> Authorization:
    authorization = decision.authorization
    assert authorization.approved, authorization.decline_reason
    assert authorization.response_code == "00"
    assert len(authorization.authorization_code) == 6 and authorization.authorization_code.isalnum()
    return authorization


def test_an_approval_holds_the_amount_counts_it_and_is_audited(brand):
    tc = active_card(brand=brand)
    decision = decide(tc, amount_minor=12_345)
    authorization = assert_approved(decision)
    assert (authorization.held_minor, authorization.status, authorization.brand) == (
        12_345,
        AuthorizationStatus.PENDING,
        brand,
    )
    account = tc.account
    assert account.held_minor == 12_345
    assert account.available_minor == 1_000_000 - 12_345
    spend = {
        group: (amount, count)
        for group, amount, count in tc.card.daily_spend.values_list("group", "amount_minor", "count")
    }
    # The amount in its limit's counter; one payment in it and in the terminals' counter (count limits).
    assert spend == {"noncash": (12_345, 1), "pos": (0, 1)}
    event = AuditEvent.objects.get(action="processing.authorization.approved")
    assert event.customer_id == tc.card.customer_id
    assert event.after["response_code"] == "00"
    assert tc.pan not in str(event.after) and tc.pan not in str(event.before)


def test_an_unknown_card_is_declined_14(brand):
    tc = active_card(brand=brand)
    other_pan = make_pan(tc.pan[:6], 999_999)
    authorization = assert_declined(decide(tc, pan=other_pan), "card_unknown", "14")
    assert authorization.card_id is None and authorization.pan_last4 == other_pan[-4:]
    event = AuditEvent.objects.get(action="processing.authorization.declined")
    assert event.customer_id is None


def test_a_known_number_with_another_expiry_is_declined_54(brand):
    tc = active_card(brand=brand)
    assert_declined(decide(tc, expiry=dt.date(2020, 1, 31)), "card_expiry_mismatch", "54")


def test_an_expired_card_is_declined_54(brand):
    tc = active_card(brand=brand)
    after_expiry = timezone.make_aware(dt.datetime.combine(tc.card.expiry + dt.timedelta(days=1), dt.time(0, 0, 1)))
    assert_declined(decide(tc, now=after_expiry), "card_expired", "54")
    last_minute = timezone.make_aware(dt.datetime.combine(tc.card.expiry, dt.time(23, 59)))
    assert_approved(decide(tc, now=last_minute))


def test_a_card_not_activated_is_declined(brand):
    tc = active_card(brand=brand, activate=False)
    assert_declined(decide(tc), "card_not_activated", _codes("78", "62", brand))


def test_a_card_blocked_by_the_holder_is_declined(brand):
    tc = active_card(brand=brand)
    card_block_temporarily(actor=HOLDER, card=tc.card)
    assert_declined(decide(tc), "card_blocked_by_holder", _codes("9G", "57", brand))


def test_a_card_blocked_by_the_bank_is_declined(brand):
    tc = active_card(brand=brand)
    card_transition(actor=SYSTEM, card=tc.card, to_status=CardStatus.BLOCKED, reason=StatusReason.BLOCKED_BY_BANK)
    assert_declined(decide(tc), "card_blocked_by_bank", "62")


@pytest.mark.parametrize(
    ("reason", "decline", "code"),
    [
        (StatusReason.LOST, "card_lost", "41"),
        (StatusReason.STOLEN, "card_stolen", "43"),
        (StatusReason.OTHER, "card_cancelled", "46"),
    ],
)
def test_a_cancelled_card_is_declined_for_good(brand, reason, decline, code):
    tc = active_card(brand=brand)
    card_cancel(actor=HOLDER, card=tc.card, reason=reason)
    assert_declined(decide(tc), decline, code)


def test_a_block_past_60_days_counts_as_cancelled(brand):
    tc = active_card(brand=brand)
    card_block_temporarily(actor=HOLDER, card=tc.card)
    later = timezone.now() + dt.timedelta(days=61)
    assert_declined(decide(tc, now=later), "card_cancelled", "46")


def test_pin_tries_reach_75_and_block_the_pin(brand):
    tc = active_card(brand=brand)
    assert_approved(decide(tc, pin_entered=True, pin=PIN))
    assert_declined(decide(tc, pin_entered=True, pin="1357"), "pin_wrong", "55")
    assert tc.refresh().wrong_pin_count == 1
    # A right PIN resets the counter.
    assert_approved(decide(tc, pin_entered=True, pin=PIN))
    assert tc.refresh().wrong_pin_count == 0
    for _ in range(PIN_TRY_LIMIT - 1):
        assert_declined(decide(tc, pin_entered=True, pin="1357"), "pin_wrong", "55")
    assert not AuditEvent.objects.filter(action="processing.card.pin_blocked").exists()
    assert_declined(decide(tc, pin_entered=True, pin="1357"), "pin_tries_exceeded", "75")
    assert tc.refresh().wrong_pin_count == PIN_TRY_LIMIT
    assert AuditEvent.objects.filter(action="processing.card.pin_blocked", object_id=str(tc.card.pk)).count() == 1
    # Blocked: even the right PIN gets 75; a payment without a PIN still works.
    assert_declined(decide(tc, pin_entered=True, pin=PIN), "pin_tries_exceeded", "75")
    assert_approved(decide(tc))
    assert tc.refresh().wrong_pin_count == PIN_TRY_LIMIT
    # The PIN never reaches an audit row.
    assert not any(PIN in str(e.after) for e in AuditEvent.objects.all())


def test_a_pin_payment_whose_pin_cannot_be_read_is_declined_not_guessed(brand):
    tc = active_card(brand=brand)
    assert_declined(decide(tc, pin_entered=True, pin=None), "pin_unverifiable", "96")
    # A block enciphered under another key opens to nonsense: declined, and not a wrong PIN.
    request = request_for(tc, pin_entered=True)
    foreign = pin_block_encipher(pin=PIN, pan=request.pan, key=bytes(range(16))).hex()
    decision = authorization_decide(actor=PROCESSOR, request=request, pin_block=foreign)
    assert_declined(decision, "pin_unverifiable", "96")
    assert tc.refresh().wrong_pin_count == 0


def test_an_atm_withdrawal_needs_a_pin(brand):
    tc = active_card(brand=brand)
    assert_declined(decide(tc, channel=Channel.ATM), "pin_required", _codes("70", "55", brand))
    assert_approved(decide(tc, channel=Channel.ATM, pin_entered=True, pin=PIN))
    assert dict(tc.card.daily_spend.values_list("group", "amount_minor")) == {"cash": 4_250}


def test_contactless_switched_off_is_declined(brand):
    tc = active_card(brand=brand)
    assert_approved(decide(tc, channel=Channel.POS_CONTACTLESS))
    card_contactless_set(actor=HOLDER, card=tc.card, enabled=False)
    assert_declined(decide(tc, channel=Channel.POS_CONTACTLESS), "contactless_disabled", _codes("9G", "57", brand))
    # Chip with the same card still works.
    assert_approved(decide(tc, channel=Channel.POS_CHIP))


def test_a_wallet_payment_needs_mobile_payments(brand):
    tc = active_card(brand=brand)
    assert_declined(decide(tc, channel=Channel.WALLET), "mobile_payments_disabled", "62")
    tc.card.mobile_payments_enabled = True
    tc.card.save(update_fields=["mobile_payments_enabled"])
    assert_approved(decide(tc, channel=Channel.WALLET))


def test_an_internet_payment_needs_3d_secure(brand):
    tc = active_card(brand=brand, internet_limit_default_minor=500_000)
    assert_declined(decide(tc, channel=Channel.ECOMMERCE), "sca_required", _codes("1A", "65", brand))
    record = authenticate(tc)
    # The other scheme's ECI does not count, nor does a value our ACS never gave.
    wrong_eci = "02" if brand == Brand.VISA else "05"
    made_up = base64.b64encode(secrets.token_bytes(20)).decode()
    for forged in (
        {"eci": wrong_eci, "authentication_value": record.authentication_value},
        {"eci": record.eci, "authentication_value": made_up},
    ):
        assert_declined(decide(tc, channel=Channel.ECOMMERCE, **forged), "sca_required", _codes("1A", "65", brand))
    authorization = assert_approved(decide(tc, channel=Channel.ECOMMERCE, **three_ds(record)))
    spend = dict(tc.card.daily_spend.values_list("group", "amount_minor"))
    assert spend == {"noncash": authorization.held_minor, "internet": authorization.held_minor}


def test_a_trusted_merchant_needs_no_3d_secure(brand):
    tc = active_card(brand=brand, internet_limit_default_minor=500_000)
    TrustedMerchant.objects.create(
        customer_id=tc.card.customer_id, name="Allegro", merchant_id="MIDTRUST", country="PL"
    )
    assert_approved(decide(tc, channel=Channel.ECOMMERCE, merchant_id="MIDTRUST"))


def test_internet_payments_locked_after_3ds_failures(brand):
    tc = active_card(brand=brand, internet_limit_default_minor=500_000)
    ThreeDSProfile.objects.create(customer_id=tc.card.customer_id, locked_until=timezone.now() + dt.timedelta(hours=3))
    assert_declined(decide(tc, channel=Channel.ECOMMERCE), "internet_payments_locked", "62")
    # The lock is for internet payments only.
    assert_approved(decide(tc, channel=Channel.POS_CHIP))


@pytest.mark.parametrize(
    ("channel", "limit_field", "reason", "extra"),
    [
        (Channel.ATM, "cash_limit_minor", "cash_limit_exceeded", {"pin_entered": True, "pin": PIN}),
        (Channel.POS_CHIP, "noncash_limit_minor", "noncash_limit_exceeded", {}),
        (Channel.ECOMMERCE, "internet_limit_minor", "internet_limit_exceeded", {"3ds": True}),
    ],
)
def test_each_daily_limit_declines_61_past_it(brand, channel, limit_field, reason, extra):
    tc = active_card(brand=brand, internet_limit_default_minor=300_000)
    limit = getattr(tc.card, limit_field)

    def pay(amount: int):
        secure = extra
        if extra.get("3ds"):  # each internet payment is authenticated on its own (a value pays once)
            secure = three_ds(authenticate(tc, amount_minor=amount))
        return decide(tc, channel=channel, amount_minor=amount, **secure)

    assert_approved(pay(limit - 100))
    assert_declined(pay(101), reason, "61")
    assert_approved(pay(100))


def test_an_internet_payment_counts_in_the_non_cash_limit(brand):
    tc = active_card(brand=brand, internet_limit_default_minor=300_000)
    secure = three_ds(authenticate(tc, amount_minor=300_000))
    assert_approved(decide(tc, channel=Channel.ECOMMERCE, amount_minor=300_000, **secure))
    # Non-cash limit is 500 000: 200 000 remain for the terminal.
    assert_declined(decide(tc, channel=Channel.POS_CHIP, amount_minor=200_001), "noncash_limit_exceeded", "61")
    assert_approved(decide(tc, channel=Channel.POS_CHIP, amount_minor=200_000))


def test_insufficient_funds_is_declined_51(brand):
    tc = active_card(brand=brand, balance_minor=10_000)
    assert_approved(decide(tc, amount_minor=6_000))
    assert_declined(decide(tc, amount_minor=4_001), "insufficient_funds", "51")
    assert_approved(decide(tc, amount_minor=4_000))
    assert tc.account.available_minor == 0


def test_a_credit_card_uses_its_credit_limit(brand):
    customer = factories.customer_factory()
    product = factories.product_factory(brand=brand, funding=Funding.CREDIT, noncash_limit_default_minor=3_000_000)
    account = factories.account_factory(customer=customer, kind=AccountKind.CREDIT)  # -120 000 of 1 000 000
    pan = make_pan("400000" if brand == Brand.VISA else "555555", 777_001)
    card = factories.card_factory(customer=customer, product=product, account=account, pan=pan)
    tc = CardFixture(card=card_activate(actor=SYSTEM, card=card), pan=pan)
    assert_approved(decide(tc, amount_minor=480_000))
    assert_declined(decide(tc, amount_minor=400_001), "insufficient_funds", "51")
    assert_approved(decide(tc, amount_minor=400_000))


def test_a_partial_approval_when_the_terminal_takes_one(brand):
    tc = active_card(brand=brand, balance_minor=10_000)
    decision = decide(tc, amount_minor=15_000, partial_supported=True)
    authorization = decision.authorization
    assert (authorization.approved, authorization.response_code) == (True, "10")
    assert (authorization.approved_amount_minor, authorization.held_minor) == (10_000, 10_000)
    assert tc.account.available_minor == 0
    # Nothing left: a decline, not a partial approval of zero.
    assert_declined(decide(tc, amount_minor=1, partial_supported=True), "insufficient_funds", "51")


def test_a_partial_approval_within_the_daily_limit(brand):
    tc = active_card(brand=brand)
    limit = tc.card.noncash_limit_minor
    decision = decide(tc, amount_minor=limit + 5_000, partial_supported=True)
    assert (decision.authorization.response_code, decision.authorization.approved_amount_minor) == ("10", limit)


def test_no_partial_approval_without_the_terminals_support(brand):
    tc = active_card(brand=brand, balance_minor=10_000)
    assert_declined(decide(tc, amount_minor=15_000), "insufficient_funds", "51")


def test_the_hold_expiry_follows_the_table(brand):
    tc = active_card(brand=brand, internet_limit_default_minor=300_000)
    now = timezone.now()
    hotel = decide(tc, mcc="7011", now=now).authorization
    shop = decide(tc, mcc="5411", now=now).authorization
    secure = three_ds(authenticate(tc, mcc="5732", now=now))
    online = decide(tc, mcc="5732", channel=Channel.ECOMMERCE, now=now, **secure).authorization
    assert hotel.expires_at - now == dt.timedelta(days=31 if brand == Brand.VISA else 30)
    assert shop.expires_at - now == dt.timedelta(days=5)
    assert online.expires_at - now == dt.timedelta(days=10)


def test_the_pipeline_records_which_check_decided(brand):
    tc = active_card(brand=brand)
    card_contactless_set(actor=HOLDER, card=tc.card, enabled=False)
    declined = decide(tc, channel=Channel.POS_CONTACTLESS).authorization
    approved = decide(tc).authorization
    assert (declined.decided_by, approved.decided_by) == ("contactless", "approve")


@time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC), tick=False)
def test_held_equals_the_sum_of_pending_holds():
    tc = active_card()
    for amount in (100, 2_000, 30_000):
        decide(tc, amount_minor=amount)
    decide(tc, amount_minor=10**12)  # declined
    pending = Authorization.objects.filter(account_id=tc.card.account_id, status=AuthorizationStatus.PENDING)
    assert tc.account.held_minor == sum(a.held_minor for a in pending) == 32_100
