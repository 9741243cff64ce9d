"""The ACS's decision: every rule in its order, the PSD2 counters at their edges, the stored record."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from kartosfera.acs.models import AuthenticationRecord, Exemption, RecordStatus
from kartosfera.acs.services import CHALLENGE_TIMEOUT, areq_answer
from kartosfera.acs.tests.helpers import CHALLENGE_URL, DS, areq, with_threeds_pin
from kartosfera.cards.models import Brand, CardStatus
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import StatusReason
from kartosfera.core.models import AuditEvent
from kartosfera.demo.identifiers import make_pan
from kartosfera.processing import exemptions
from kartosfera.processing.tests.helpers import active_card
from kartosfera.secure3d.models import TrustedMerchant
from kartosfera.secure3d.services import threeds_exemption_set, threeds_failure_record
from kartosfera.testing import factories
from kartosfera.testing.concurrency import run_together

pytestmark = pytest.mark.django_db


def answer(request, **kwargs):
    return json.loads(areq_answer(actor=DS, areq=request, challenge_url=CHALLENGE_URL, **kwargs))


def record_of(ares) -> AuthenticationRecord:
    return AuthenticationRecord.objects.get(acs_trans_id=ares["acsTransID"])


def test_an_unknown_card_is_not_authenticated_with_reason_08():
    ares = answer(areq(pan=make_pan("400000", 999_999)))
    assert (ares["transStatus"], ares["transStatusReason"]) == ("N", "08")
    assert "authenticationValue" not in ares
    record = record_of(ares)
    assert record.card is None and record.status == RecordStatus.NOT_AUTHENTICATED


def test_an_expired_card_is_not_authenticated_with_reason_05():
    tc = active_card()
    after_expiry = dt.datetime.combine(tc.card.expiry, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=40)
    ares = answer(areq(tc), now=after_expiry)
    assert (ares["transStatus"], ares["transStatusReason"]) == ("N", "05")


@pytest.mark.parametrize(
    ("to_status", "reason", "expected"),
    [
        (CardStatus.BLOCKED, StatusReason.BLOCKED_BY_CUSTOMER, ("N", "12")),
        (CardStatus.BLOCKED, StatusReason.BLOCKED_BY_BANK, ("R", "12")),
        (CardStatus.CANCELLED, StatusReason.STOLEN, ("R", "10")),
        (CardStatus.CANCELLED, StatusReason.LOST, ("R", "11")),
        (CardStatus.CANCELLED, StatusReason.OTHER, ("R", "12")),
    ],
)
def test_a_card_that_cannot_pay_is_refused_with_its_reason(to_status, reason, expected):
    tc = active_card()
    card_transition(actor=factories.SYSTEM, card=tc.card, to_status=to_status, reason=reason)
    ares = answer(areq(tc))
    assert (ares["transStatus"], ares["transStatusReason"]) == expected


def test_a_card_not_yet_activated_is_not_authenticated():
    tc = active_card(activate=False)
    ares = answer(areq(tc))
    assert (ares["transStatus"], ares["transStatusReason"]) == ("N", "12")


def test_non_payment_and_other_channels_are_not_supported():
    tc = active_card()
    assert answer(areq(tc, messageCategory="02"))["transStatusReason"] == "20"
    assert answer(areq(tc, deviceChannel="01"))["transStatusReason"] == "03"
    assert answer(areq(tc, deviceChannel="03"))["transStatusReason"] == "21"


def test_internet_payments_locked_after_failures_are_not_authenticated():
    tc = active_card()
    with_threeds_pin(tc)
    now = timezone.now()
    for _ in range(3):
        threeds_failure_record(customer=tc.card.customer, now=now)
    ares = answer(areq(tc, purchaseAmount="100"), now=now)
    assert (ares["transStatus"], ares["transStatusReason"]) == ("N", "19")


@pytest.mark.parametrize(("brand", "eci"), [(Brand.VISA, "05"), (Brand.MASTERCARD, "02")])
def test_a_low_value_payment_is_frictionless_with_the_scheme_eci(brand, eci):
    tc = active_card(brand=brand)
    with_threeds_pin(tc)
    ares = answer(areq(tc, purchaseAmount="5000"))
    assert ares["transStatus"] == "Y" and ares["eci"] == eci
    assert len(ares["authenticationValue"]) == 28
    record = record_of(ares)
    assert record.exemption == Exemption.LOW_VALUE and record.status == RecordStatus.AUTHENTICATED


def test_the_holder_switched_the_low_value_exemption_off():
    tc = active_card()
    with_threeds_pin(tc)
    threeds_exemption_set(actor=factories.SYSTEM, customer=tc.card.customer, enabled=False)
    assert answer(areq(tc, purchaseAmount="100"))["transStatus"] == "C"


def test_the_per_payment_ceiling_at_its_edge():
    tc = active_card()
    with_threeds_pin(tc)
    # The bank's own rule: at most 100 PLN a payment (below the RTS's EUR 30).
    assert answer(areq(tc, purchaseAmount="10000"))["transStatus"] == "Y"
    assert answer(areq(tc, purchaseAmount="10001"))["transStatus"] == "C"


def test_a_payment_in_another_currency_is_not_low_value():
    tc = active_card()
    with_threeds_pin(tc)
    assert answer(areq(tc, purchaseAmount="100", purchaseCurrency="840"))["transStatus"] == "C"


@override_settings(PSD2_EXEMPTION_COUNTER="count")
def test_the_count_since_the_last_sca_at_its_edge_and_its_reset():
    tc = active_card()
    with_threeds_pin(tc)
    tc.card.psd2_remote_count = 4
    tc.card.save(update_fields=["psd2_remote_count"])
    assert answer(areq(tc, purchaseAmount="100"))["transStatus"] == "Y"  # the 5th in a row
    tc.card.psd2_remote_count = 5
    tc.card.save(update_fields=["psd2_remote_count"])
    assert answer(areq(tc, purchaseAmount="100"))["transStatus"] == "C"  # a 6th needs SCA
    # A successful SCA resets the card core's counters (processing/exemptions.reset): frictionless again.
    for field, value in exemptions.reset(tc.card).items():
        setattr(tc.card, field, value)
    tc.card.save()
    assert answer(areq(tc, purchaseAmount="100"))["transStatus"] == "Y"


@override_settings(PSD2_EXEMPTION_COUNTER="amount")
def test_the_amount_since_the_last_sca_at_its_edge():
    tc = active_card()
    with_threeds_pin(tc)
    # The bank's 400 PLN total (below the RTS's EUR 100): 370 + 30 fits, 370.01 + 30 does not.
    tc.card.psd2_remote_count, tc.card.psd2_remote_minor = 20, 37_000
    tc.card.save(update_fields=["psd2_remote_count", "psd2_remote_minor"])
    assert answer(areq(tc, purchaseAmount="3000"))["transStatus"] == "Y"
    tc.card.psd2_remote_minor = 37_001
    tc.card.save(update_fields=["psd2_remote_minor"])
    assert answer(areq(tc, purchaseAmount="3000"))["transStatus"] == "C"


def test_a_trusted_merchant_is_frictionless_above_the_low_value_ceiling():
    tc = active_card()
    with_threeds_pin(tc, low_value_exemption=False)
    TrustedMerchant.objects.create(customer=tc.card.customer, name="Sklep", merchant_id="MERCHANT-001", country="PL")
    ares = answer(areq(tc, purchaseAmount="250000"))
    assert ares["transStatus"] == "Y"
    assert record_of(ares).exemption == Exemption.TRUSTED_MERCHANT
    assert answer(areq(tc, purchaseAmount="250000", acquirerMerchantID="OTHER"))["transStatus"] == "C"


def test_a_challenge_requested_by_the_merchant_wins_over_an_exemption():
    tc = active_card()
    with_threeds_pin(tc)
    assert answer(areq(tc, purchaseAmount="100", threeDSRequestorChallengeInd="04"))["transStatus"] == "C"


def test_otherwise_a_challenge_pending_for_5_minutes():
    tc = active_card()
    with_threeds_pin(tc)
    now = timezone.now()
    ares = answer(areq(tc, purchaseAmount="50000"), now=now)
    assert ares["transStatus"] == "C" and ares["acsURL"] == CHALLENGE_URL
    assert "authenticationValue" not in ares and "transStatusReason" not in ares
    record = record_of(ares)
    assert record.status == RecordStatus.CHALLENGE_PENDING
    assert record.expires_at == now + CHALLENGE_TIMEOUT
    assert record.decision_rule == "challenge"


def test_without_a_threeds_pin_still_a_challenge_with_the_reason_recorded():
    tc = active_card()
    ares = answer(areq(tc, purchaseAmount="50000"))
    assert ares["transStatus"] == "C"
    assert record_of(ares).decision_rule == "no_threeds_pin"


def test_each_answer_is_audited_for_the_cards_bank_without_the_card_number():
    tc = active_card()
    ares = answer(areq(tc))
    event = AuditEvent.objects.get(action="acs.authentication.answered", object_id=str(record_of(ares).pk))
    assert event.bank_id == tc.card.bank_id and event.customer_id == tc.card.customer_id
    assert event.after["card_last4"] == tc.pan[-4:]
    assert tc.pan not in json.dumps(event.after)


def test_no_card_number_in_the_stored_record():
    tc = active_card()
    ares = answer(areq(tc))
    record = record_of(ares)
    stored = json.dumps(record.areq) + record.ares
    assert tc.pan not in stored and tc.pan[:6] + tc.pan[-4:] not in stored
    assert record.areq["acctNumberLast4"] == tc.pan[-4:]


def test_a_euro_payment_is_valued_against_the_eur_30_ceiling():
    tc = active_card()  # a PLN account
    with_threeds_pin(tc)
    # EUR 23.52 at the fallback 4.25 is 99.96 PLN, within the bank's 100 PLN; EUR 23.54 is 100.05 PLN.
    assert answer(areq(tc, purchaseAmount="2352", purchaseCurrency="978"))["transStatus"] == "Y"
    assert answer(areq(tc, purchaseAmount="2354", purchaseCurrency="978"))["transStatus"] == "C"


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises every write")
@pytest.mark.django_db(transaction=True)
def test_two_copies_of_one_areq_at_once_make_one_record_and_one_answer():
    tc = active_card()
    with_threeds_pin(tc)
    request = areq(tc, purchaseAmount="2500")
    outcomes = run_together(
        lambda: areq_answer(actor=DS, areq=request, challenge_url=CHALLENGE_URL),
        lambda: areq_answer(actor=DS, areq=request, challenge_url=CHALLENGE_URL),
    )
    assert outcomes[0] == outcomes[1]
    assert AuthenticationRecord.objects.count() == 1
    assert AuditEvent.objects.filter(action="acs.authentication.answered").count() == 1
