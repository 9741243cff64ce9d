"""'Stop everything' in the card core and the ACS: every payment of every card declined, approved again after the
lift (processing/pipeline.py: check_customer_stop; acs/decision.py: customer_stopped)."""

from __future__ import annotations

import json
import uuid

import pytest

from kartosfera.acs.currencies import numeric_of
from kartosfera.acs.models import AuthenticationRecord, TransStatus
from kartosfera.acs.services import AReq, areq_answer
from kartosfera.cards.models import Brand, Card
from kartosfera.cards.operations_services import card_mobile_payments_activate
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType
from kartosfera.customers.models import Customer, StopChannel
from kartosfera.processing.adjustments import authorization_increment
from kartosfera.processing.codes import code_for
from kartosfera.processing.models import Channel
from kartosfera.processing.tests.helpers import (
    DIRECTORY_SERVER,
    PIN,
    PROCESSOR,
    CardFixture,
    active_card,
    authenticate,
    decide,
    three_ds,
)
from kartosfera.stops.services import customer_stop, customer_stop_lift
from kartosfera.testing.tokens import token_factory

pytestmark = pytest.mark.django_db
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")


@pytest.fixture(params=[Brand.VISA, Brand.MASTERCARD])
def brand(request) -> str:
    return request.param


def _same_customer(tc: CardFixture, other: CardFixture) -> CardFixture:
    """Make ``other``'s card and account ``tc``'s customer's (a second card of one person)."""
    customer_id = tc.card.customer_id
    Card.objects.filter(pk=other.card.pk).update(customer_id=customer_id)
    type(other.account).objects.filter(pk=other.card.account_id).update(customer_id=customer_id)
    other.refresh()
    return other


def _stop(tc: CardFixture) -> None:
    customer_stop(actor=HOLDER, customer=Customer.objects.get(pk=tc.card.customer_id), channel=StopChannel.PORTAL)


def _lift(tc: CardFixture) -> None:
    customer_stop_lift(actor=HOLDER, customer=Customer.objects.get(pk=tc.card.customer_id), channel=StopChannel.PORTAL)


def _payments(tc: CardFixture) -> dict[str, dict]:
    """Every kind of payment the card makes: chip with PIN, a tap, an ATM, the internet, a phone wallet's token."""
    token = token_factory(card=tc.card)
    return {
        "chip": {"channel": Channel.POS_CHIP, "pin_entered": True, "pin": PIN},
        "contactless": {"channel": Channel.POS_CONTACTLESS},
        "atm": {"channel": Channel.ATM, "pin_entered": True, "pin": PIN},
        "internet": {"channel": Channel.ECOMMERCE, "sca_exemption": "merchant_initiated"},
        "wallet": {"channel": Channel.WALLET, "token_reference": token.token_reference},
    }


def test_every_payment_of_every_card_is_declined_with_the_stop_codes_and_approved_again_after_the_lift(brand):
    first = active_card(brand=brand, internet_limit_default_minor=500_000)
    second = _same_customer(first, active_card(brand=brand, internet_limit_default_minor=500_000))
    stranger = active_card(brand=brand)
    kinds = {}
    for tc in (first, second):
        card_mobile_payments_activate(actor=HOLDER, card=tc.card)
        tc.refresh()
        kinds[tc.card.pk] = _payments(tc)

    _stop(first)

    expected = ("9G", "02") if brand == Brand.VISA else ("57", "02")
    for tc in (first, second):
        for name, fields in kinds[tc.card.pk].items():
            authorization = decide(tc, **fields).authorization
            assert (authorization.approved, authorization.decline_reason) == (False, "customer_stopped"), name
            assert authorization.response_code == expected[0], name
            assert authorization.decided_by == "customer_stop"
            assert authorization.held_minor == 0
    assert code_for("customer_stopped").advice_code(Brand.MASTERCARD) == "02"
    # Another customer's card is not touched.
    assert decide(stranger).authorization.approved

    _lift(first)

    for tc in (first, second):
        for name, fields in kinds[tc.card.pk].items():
            assert decide(tc, **fields).authorization.approved, name


def test_a_wrong_pin_typed_while_stopped_is_not_counted():
    tc = active_card()
    _stop(tc)

    decide(tc, channel=Channel.POS_CHIP, pin_entered=True, pin="0000")

    assert tc.refresh().wrong_pin_count == 0


def test_an_increment_of_a_stopped_customers_authorization_is_declined():
    tc = active_card()
    authorization = decide(tc, amount_minor=20_000, mcc="7011").authorization
    _stop(tc)

    declined = authorization_increment(
        actor=PROCESSOR, authorization_id=authorization.processor_id, increment_id="inc-s", amount_minor=1_000
    ).adjustment

    assert (declined.approved, declined.decline_reason, declined.response_code) == (False, "customer_stopped", "9G")


def _areq(tc: CardFixture) -> dict:
    fields = {
        "messageType": "AReq",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": str(uuid.uuid4()),
        "acctNumber": tc.pan,
        "deviceChannel": "02",
        "messageCategory": "01",
        "purchaseAmount": "4250",
        "purchaseCurrency": numeric_of(tc.card.account.currency),
        "purchaseExponent": "2",
        "purchaseDate": "20261130101500",
        "merchantName": "Biedronka 1234",
        "mcc": "5411",
        "merchantCountryCode": "616",
        "acquirerBIN": "412345",
        "acquirerMerchantID": "MID000123",
        "notificationURL": "https://merchant.example/3ds/notify",
        "threeDSRequestorChallengeInd": "04",
    }
    return json.loads(
        areq_answer(
            actor=DIRECTORY_SERVER, areq=AReq(fields=fields, pan=tc.pan), challenge_url="https://testserver/acs/c"
        )
    )


def test_the_acs_does_not_authenticate_a_stopped_customers_payment_and_does_after_the_lift():
    tc = active_card(internet_limit_default_minor=500_000)
    _stop(tc)

    ares = _areq(tc)

    assert (ares["transStatus"], ares["transStatusReason"]) == (TransStatus.NOT_AUTHENTICATED, "12")
    assert AuthenticationRecord.objects.get(acs_trans_id=ares["acsTransID"]).decision_rule == "customer_stopped"

    _lift(tc)
    record = authenticate(tc)
    assert decide(tc, channel=Channel.ECOMMERCE, **three_ds(record)).authorization.approved
