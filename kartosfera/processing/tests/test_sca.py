"""The card core and our ACS: an internet payment passes with a valid, unused authentication value of our ACS,
or with a PSD2 exemption the card core grants itself; otherwise the SCA soft decline (docs/3d-secure.md,
"In the card core"). The provisioned EUR → PLN rate is 4 PLN per EUR: the bank's 100 PLN is EUR 25.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import typing
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from kartosfera.acs.models import AuthenticationRecord, RecordStatus
from kartosfera.acs.services import AUTHENTICATION_VALUE_VALIDITY, AReq, areq_answer, challenge_end
from kartosfera.cards.models import Brand, Card
from kartosfera.core.models import AuditEvent
from kartosfera.processing.models import Authorization, Channel, ConversionRate, ScaExemption
from kartosfera.processing.services import authorization_decide
from kartosfera.processing.tests.helpers import (
    DIRECTORY_SERVER,
    PROCESSOR,
    CardFixture,
    active_card,
    authenticate,
    decide,
    request_for,
    three_ds,
)
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant
from kartosfera.testing.concurrency import run_together

WEB = {"internet_limit_default_minor": 500_000}


@pytest.fixture
def eur_rate(db) -> ConversionRate:
    return ConversionRate.objects.create(
        from_currency="EUR", to_currency="PLN", rate=Decimal(4), valid_from=timezone.now() - dt.timedelta(days=1)
    )


def _soft_decline(brand: str) -> str:
    return "1A" if brand == Brand.VISA else "65"


def online(tc: CardFixture, record: AuthenticationRecord | None = None, **overrides: typing.Any):
    secure = three_ds(record) if record is not None else {}
    return decide(tc, channel=Channel.ECOMMERCE, **(secure | overrides))


def counters(tc: CardFixture) -> tuple[int, int, int, int]:
    card = Card.objects.get(pk=tc.card.pk)
    return card.psd2_contactless_count, card.psd2_contactless_minor, card.psd2_remote_count, card.psd2_remote_minor


def status_of(record: AuthenticationRecord) -> str:
    return AuthenticationRecord.objects.values_list("status", flat=True).get(pk=record.pk)


def approved(decision, exemption: str = "") -> Authorization:
    authorization = decision.authorization
    assert authorization.approved, authorization.decline_reason
    assert authorization.sca_exemption == exemption
    return authorization


def sca_declined(decision, brand: str) -> Authorization:
    authorization = decision.authorization
    assert (authorization.approved, authorization.decline_reason) == (False, "sca_required")
    assert authorization.response_code == _soft_decline(brand) and authorization.decided_by == "sca"
    assert authorization.authentication_id is None
    return authorization


def taps(tc: CardFixture, n: int) -> None:
    for _n in range(n):
        approved(decide(tc, channel=Channel.POS_CONTACTLESS, amount_minor=1_000), ScaExemption.CONTACTLESS)


@pytest.mark.django_db
def test_without_a_value_or_an_exemption_the_soft_decline(brand, eur_rate):
    tc = active_card(brand=brand, **WEB)
    sca_declined(online(tc), brand)


@pytest.mark.django_db
def test_a_value_after_a_challenge_is_sca_used_once_and_linked(brand, eur_rate):
    tc = active_card(brand=brand, **WEB)
    record = authenticate(tc)
    # The challenge reset the counters; what the card does after it counts as usual until the payment.
    taps(tc, 2)
    authorization = approved(online(tc, record))
    assert authorization.authentication_id == record.pk
    assert counters(tc) == (2, 2_000, 0, 0)  # SCA: not counted, and not reset again
    assert status_of(record) == RecordStatus.USED
    used = AuditEvent.objects.get(action="acs.authentication.used")
    assert (used.object_id, used.customer_id) == (str(record.pk), tc.card.customer_id)
    # Reused, by another authorization: declined, whatever the acquirer claims besides.
    sca_declined(online(tc, record), brand)
    sca_declined(online(tc, record, sca_exemption=ScaExemption.LOW_VALUE, amount_minor=1_000), brand)
    assert Authorization.objects.get(authentication=record).pk == authorization.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    ["another_card", "merchant_id", "currency", "over_tolerance", "expired", "wrong_eci", "made_up"],
)
def test_a_value_not_for_this_payment_is_declined_and_stays_usable(brand, eur_rate, change):
    tc = active_card(brand=brand, **WEB)
    now = timezone.now()
    record = authenticate(tc, amount_minor=10_000, now=now)
    secure = three_ds(record)
    payment: dict[str, typing.Any] = {"amount_minor": 10_000, "now": now}
    payer = tc
    if change == "another_card":
        payer = active_card(brand=brand, **WEB)
    elif change == "merchant_id":
        payment["merchant_id"] = "MID000999"
    elif change == "currency":
        payment |= {"currency": "EUR", "amount_minor": 2_500, "billing_amount_minor": 10_000}
    elif change == "over_tolerance":
        payment["amount_minor"] = 10_001  # a grocery's MCC has no over-capture tolerance
    elif change == "expired":
        payment["now"] = now + AUTHENTICATION_VALUE_VALIDITY
    elif change == "wrong_eci":
        secure["eci"] = "06" if brand == Brand.VISA else "01"  # a scheme's ECI, not the one our ACS gave
    elif change == "made_up":
        secure["authentication_value"] = base64.b64encode(secrets.token_bytes(20)).decode()
    sca_declined(decide(payer, channel=Channel.ECOMMERCE, **secure, **payment), brand)
    assert status_of(record) == RecordStatus.AUTHENTICATED
    # The value still pays the payment it was given for.
    approved(online(tc, record, amount_minor=10_000, now=now))


@pytest.mark.django_db
def test_a_lower_amount_and_the_mccs_tolerance_pass(eur_rate):
    tc = active_card(**WEB)
    split = authenticate(tc, amount_minor=10_000)
    approved(online(tc, split, amount_minor=6_000))  # a split shipment: the first part
    restaurant = authenticate(tc, amount_minor=10_000, mcc="5812")
    approved(online(tc, restaurant, amount_minor=12_000, mcc="5812"))  # + 20 %: a tip
    over = authenticate(tc, amount_minor=10_000, mcc="5812")
    sca_declined(online(tc, over, amount_minor=12_001, mcc="5812"), Brand.VISA)


@pytest.mark.django_db
def test_a_payment_declined_for_its_funds_leaves_the_value_for_the_retry(brand, eur_rate):
    tc = active_card(brand=brand, balance_minor=3_000, **WEB)
    record = authenticate(tc, amount_minor=4_250)
    declined = online(tc, record).authorization
    assert (declined.decline_reason, declined.authentication_id) == ("insufficient_funds", None)
    assert status_of(record) == RecordStatus.AUTHENTICATED
    assert not AuditEvent.objects.filter(action="acs.authentication.used").exists()
    # The shop sends less (the holder took an item out): the same value pays it.
    approved(online(tc, record, amount_minor=3_000))
    assert status_of(record) == RecordStatus.USED


@pytest.mark.django_db
def test_challenge_end_resets_the_counters(brand, eur_rate):
    tc = active_card(brand=brand, **WEB)
    taps(tc, 3)
    approved(online(tc, sca_exemption=ScaExemption.LOW_VALUE, amount_minor=2_000), ScaExemption.LOW_VALUE)
    assert counters(tc) == (3, 3_000, 1, 2_000)
    authenticate(tc)  # AReq → C → the holder passes the challenge (challenge_end, authenticated)
    assert counters(tc) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_challenge_that_fails_resets_nothing(eur_rate):
    tc = active_card(**WEB)
    taps(tc, 2)
    fields = {
        "threeDSServerTransID": "6f2b7d6e-1a0b-4a49-9d9e-0b7d3b0f7a11",
        "acctNumber": tc.pan,
        "messageType": "AReq",
        "messageVersion": "2.2.0",
        "deviceChannel": "02",
        "messageCategory": "01",
        "purchaseAmount": "4250",
        "purchaseCurrency": "985",
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
    areq_answer(actor=DIRECTORY_SERVER, areq=AReq(fields=fields, pan=tc.pan), challenge_url="https://t/acs")
    record = AuthenticationRecord.objects.get(three_ds_server_trans_id=fields["threeDSServerTransID"])
    challenge_end(actor=DIRECTORY_SERVER, record=record, authenticated=False, reason="09")
    assert counters(tc) == (2, 2_000, 0, 0)


@pytest.mark.django_db
def test_frictionless_low_value_ys_count_and_the_sixth_needs_sca(brand, eur_rate):
    tc = active_card(brand=brand, **WEB)
    # Six frictionless Ys, all given before any payment was authorized (the counter was 0 at each AReq).
    records = [authenticate(tc, amount_minor=2_000, challenge=False) for _n in range(6)]
    assert {record.exemption for record in records} == {"low_value"}
    for record in records[:5]:
        authorization = approved(online(tc, record, amount_minor=2_000), ScaExemption.LOW_VALUE)
        assert authorization.authentication_id == record.pk
    assert counters(tc) == (0, 0, 5, 10_000)
    sca_declined(online(tc, records[5], amount_minor=2_000), brand)
    assert counters(tc) == (0, 0, 5, 10_000)
    assert status_of(records[5]) == RecordStatus.AUTHENTICATED
    # The ACS would now answer C; the holder passes the challenge (SCA) and the count starts again.
    approved(online(tc, authenticate(tc, amount_minor=2_000), amount_minor=2_000))
    assert counters(tc) == (0, 0, 0, 0)
    approved(online(tc, authenticate(tc, amount_minor=2_000, challenge=False), amount_minor=2_000), "low_value")
    assert counters(tc) == (0, 0, 1, 2_000)


@pytest.mark.django_db
def test_frictionless_low_value_ys_in_the_amount_mode_end_at_the_banks_400_pln(settings, eur_rate):
    settings.PSD2_EXEMPTION_COUNTER = "amount"
    tc = active_card(**WEB)
    records = [authenticate(tc, amount_minor=10_000, challenge=False) for _n in range(5)]
    for record in records[:4]:
        approved(online(tc, record, amount_minor=10_000), ScaExemption.LOW_VALUE)
    assert counters(tc) == (0, 0, 4, 40_000)  # 400 PLN exactly: the 4th passes
    sca_declined(online(tc, records[4], amount_minor=10_000), Brand.VISA)
    # A lower amount under the same value does not fit either: the total is spent.
    sca_declined(online(tc, records[4], amount_minor=1), Brand.VISA)


@pytest.mark.django_db
def test_a_low_value_y_needs_the_holders_switch_still_on(eur_rate):
    tc = active_card(**WEB)
    record = authenticate(tc, amount_minor=2_000, challenge=False)
    ThreeDSProfile.objects.filter(customer_id=tc.card.customer_id).update(low_value_exemption=False)
    sca_declined(online(tc, record, amount_minor=2_000), Brand.VISA)


@pytest.mark.django_db
def test_a_trusted_merchant_y_counts(brand, eur_rate):
    tc = active_card(brand=brand, **WEB)
    TrustedMerchant.objects.create(customer_id=tc.card.customer_id, name="Shop", merchant_id="MIDSHOP", country="PL")
    record = authenticate(tc, amount_minor=50_000, merchant_id="MIDSHOP", challenge=False)
    assert record.exemption == "trusted_merchant"
    approved(online(tc, record, amount_minor=50_000, merchant_id="MIDSHOP"), ScaExemption.TRUSTED_BENEFICIARY)
    assert counters(tc) == (0, 0, 1, 50_000)


@pytest.mark.django_db
def test_a_trusted_merchant_y_needs_the_merchant_still_on_the_holders_list(eur_rate):
    tc = active_card(**WEB)
    trusted = TrustedMerchant.objects.create(
        customer_id=tc.card.customer_id, name="Shop", merchant_id="MIDSHOP", country="PL"
    )
    record = authenticate(tc, amount_minor=50_000, merchant_id="MIDSHOP", challenge=False)
    trusted.delete()  # the holder removed the merchant between the authentication and the payment
    sca_declined(online(tc, record, amount_minor=50_000, merchant_id="MIDSHOP"), Brand.VISA)
    assert AuthenticationRecord.objects.get(pk=record.pk).status == RecordStatus.AUTHENTICATED  # not used


@pytest.mark.django_db
def test_an_approval_with_a_value_adds_four_statements(django_assert_num_queries, eur_rate):
    tc = active_card(**WEB)
    decide(tc, channel=Channel.ECOMMERCE, **three_ds(authenticate(tc)))  # the day's counter rows exist now
    request = request_for(tc, channel=Channel.ECOMMERCE, **three_ds(authenticate(tc)))
    # savepoint; the four reads; the 3-D Secure lock look-up; the record (locked); the four writes; the record
    # used and its audit row; release
    with django_assert_num_queries(14):
        assert authorization_decide(actor=PROCESSOR, request=request).authorization.approved


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
@pytest.mark.django_db(transaction=True)
def test_two_authorizations_racing_with_one_value_approve_one():
    tc = active_card(**WEB)
    record = authenticate(tc)
    requests = [request_for(tc, channel=Channel.ECOMMERCE, **three_ds(record)) for _n in range(2)]
    assert requests[0].processor_id != requests[1].processor_id
    run_together(*(lambda r=r: authorization_decide(actor=PROCESSOR, request=r) for r in requests))
    rows = list(Authorization.objects.filter(card=tc.card))
    assert sorted(row.approved for row in rows) == [False, True]
    assert [row.decline_reason for row in rows if not row.approved] == ["sca_required"]
    assert status_of(record) == RecordStatus.USED
    assert AuditEvent.objects.filter(action="acs.authentication.used").count() == 1
