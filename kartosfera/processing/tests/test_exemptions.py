"""PSD2 exemptions: the per-card counters (RTS art. 11 and 16), the acquirer's claims, the contactless PIN soft decline.

docs/processing.md, "PSD2 exemptions"; the research §1 and §7. The provisioned EUR → PLN rate here is
4 PLN per EUR (round figures): EUR 50 = 200 PLN, EUR 150 = 600 PLN, EUR 30 = 120 PLN.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import typing
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.cards.models import Brand, Card
from kartosfera.cards.operations_services import card_contactless_set
from kartosfera.cards.pan import pan_fingerprint
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.processing import conversion, exemptions, services
from kartosfera.processing.adjustments import authorization_reverse
from kartosfera.processing.exemptions import Ceiling, Counters, Mode, Payment
from kartosfera.processing.models import (
    CLAIMABLE_EXEMPTIONS,
    Authorization,
    AuthorizationStatus,
    Channel,
    ConversionRate,
    ScaExemption,
)
from kartosfera.processing.schemas import AuthorizationIn
from kartosfera.processing.services import AuthorizationIdConflict, authorization_decide, request_fingerprint
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
from kartosfera.testing.concurrency import run_together

HOLDER = Actor(type="customer", id="0", label="tests")
WEB = {"internet_limit_default_minor": 500_000}


@pytest.fixture
def eur_rate(db) -> ConversionRate:
    """The bank's provisioned EUR → PLN rate: 4 PLN per EUR."""
    return ConversionRate.objects.create(
        from_currency="EUR", to_currency="PLN", rate=Decimal(4), valid_from=timezone.now() - dt.timedelta(days=1)
    )


def _code(brand: str, visa: str, mastercard: str) -> str:
    return visa if brand == Brand.VISA else mastercard


def tap(tc: CardFixture, amount_minor: int = 2_000, **overrides: typing.Any):
    return decide(tc, channel=Channel.POS_CONTACTLESS, amount_minor=amount_minor, **overrides)


def online(tc: CardFixture, claim: str = "", amount_minor: int = 2_000, **overrides: typing.Any):
    return decide(tc, channel=Channel.ECOMMERCE, amount_minor=amount_minor, sca_exemption=claim, **overrides)


def counters(tc: CardFixture) -> tuple[int, int, int, int]:
    """(taps, their amount, remote payments, their amount) since the card's last SCA."""
    card = Card.objects.get(pk=tc.card.pk)
    return card.psd2_contactless_count, card.psd2_contactless_minor, card.psd2_remote_count, card.psd2_remote_minor


def approved(decision, exemption: str = "") -> Authorization:
    authorization = decision.authorization
    assert authorization.approved, authorization.decline_reason
    assert authorization.sca_exemption == exemption
    return authorization


def declined(decision, reason: str, code: str) -> Authorization:
    authorization = decision.authorization
    assert (authorization.approved, authorization.decline_reason, authorization.response_code) == (False, reason, code)
    assert authorization.held_minor == 0 and authorization.sca_exemption == ""
    return authorization


# --- The pure rules ----------------------------------------------------------------------------------


def test_a_payment_is_valued_exactly_in_its_own_or_the_accounts_currency_else_converted_half_up():
    euro_on_zloty = Payment(5_000, "EUR", 21_425, "PLN", Decimal("4.2850"))
    assert (euro_on_zloty.value_in("EUR"), euro_on_zloty.value_in("PLN")) == (5_000, 21_425)
    dollars = Payment(1_000, "USD", 4_002, "PLN", Decimal(4))
    assert dollars.value_in("PLN") == 4_002
    assert dollars.value_in("EUR") == 1_001  # 10.005 EUR, half up
    euro_account = Payment(10_000, "PLN", 2_500, "EUR", Decimal(4))
    assert euro_account.value_in("PLN") == 10_000 and euro_account.value_in("EUR") == 2_500


def test_a_ceiling_in_another_currency_is_converted_down():
    zloty = Payment(100, "PLN", 100, "PLN", Decimal("4.285714"))
    assert zloty.in_account_currency(15_000, "EUR") == 64_285  # 642.8571 PLN, never rounded up
    assert zloty.in_account_currency(40_000, "PLN") == 40_000
    euro = Payment(100, "EUR", 100, "EUR", Decimal(3))
    assert euro.in_account_currency(10_000, "PLN") == 3_333  # 33.333 EUR


def test_the_count_mode_allows_the_fifth_and_the_amount_mode_the_total():
    ceiling = Ceiling("EUR", per_payment_minor=5_000, total_minor=15_000, in_a_row=5)
    small = Payment(1_000, "PLN", 1_000, "PLN", Decimal(4))
    assert exemptions.within(ceiling, Counters(4, 0), small, mode=Mode.COUNT)
    assert not exemptions.within(ceiling, Counters(5, 0), small, mode=Mode.COUNT)
    # The amount mode ignores the number and sums the account's currency against EUR 150 = 600 PLN.
    assert exemptions.within(ceiling, Counters(50, 59_000), small, mode=Mode.AMOUNT)
    assert not exemptions.within(ceiling, Counters(0, 59_001), small, mode=Mode.AMOUNT)
    # The per-payment ceiling applies in both.
    big = Payment(20_004, "PLN", 20_004, "PLN", Decimal(4))  # 50.01 EUR
    assert not exemptions.within(ceiling, Counters(0, 0), big, mode=Mode.COUNT)
    assert not exemptions.within(ceiling, Counters(0, 0), big, mode=Mode.AMOUNT)


def test_a_reset_writes_only_the_counters_not_at_zero():
    card = Card(psd2_contactless_count=2, psd2_contactless_minor=3_000, psd2_remote_count=0, psd2_remote_minor=0)
    assert exemptions.reset(card) == {"psd2_contactless_count": 0, "psd2_contactless_minor": 0}
    assert exemptions.reset(Card()) == {}


@pytest.mark.django_db
def test_the_reference_rate_is_the_banks_either_way_else_the_fallback(settings, monkeypatch, caplog):
    now = timezone.now()
    monkeypatch.setattr(conversion, "_fallback_logged", False)
    settings.PSD2_FALLBACK_EUR_PLN_RATE = Decimal("4.5")
    with caplog.at_level(logging.WARNING, logger="kartosfera.processing.conversion"):
        first = conversion.eur_pln_reference_rate(at=now)
        conversion.eur_pln_reference_rate(at=now)
    assert first == conversion.ReferenceRate(Decimal("4.5"), provisioned=False)
    assert [r.getMessage() for r in caplog.records].count(
        "No EUR/PLN conversion rate is provisioned: the PSD2 ceilings use PSD2_FALLBACK_EUR_PLN_RATE=4.5"
    ) == 1
    ConversionRate.objects.create(
        from_currency="PLN", to_currency="EUR", rate=Decimal("0.25"), valid_from=now - dt.timedelta(hours=1)
    )
    assert conversion.eur_pln_reference_rate(at=now) == conversion.ReferenceRate(Decimal(4), provisioned=True)
    # A later EUR → PLN rate wins; a rate not valid yet does not count.
    ConversionRate.objects.create(from_currency="EUR", to_currency="PLN", rate=Decimal("4.3"), valid_from=now)
    ConversionRate.objects.create(
        from_currency="EUR", to_currency="PLN", rate=Decimal("9"), valid_from=now + dt.timedelta(hours=1)
    )
    assert conversion.eur_pln_reference_rate(at=now).pln_per_eur == Decimal("4.3")


# --- Contactless (RTS art. 11) --------------------------------------------------------------------


@pytest.mark.django_db
def test_five_taps_without_a_pin_then_the_terminal_must_ask_for_it(brand, eur_rate):
    tc = active_card(brand=brand)
    for _n in range(5):
        approved(tap(tc), ScaExemption.CONTACTLESS)
    assert counters(tc) == (5, 10_000, 0, 0)
    sixth = declined(tap(tc), "contactless_pin_required", _code(brand, "70", "65"))
    assert sixth.decided_by == "contactless_exemption"
    assert counters(tc) == (5, 10_000, 0, 0)
    # The terminal asks for the PIN and sends the tap again: a right PIN is SCA and starts the count again.
    again = approved(tap(tc, pin_entered=True, pin=PIN))
    assert again.channel == Channel.POS_CONTACTLESS
    assert counters(tc) == (0, 0, 0, 0)
    approved(tap(tc), ScaExemption.CONTACTLESS)
    assert counters(tc) == (1, 2_000, 0, 0)
    event = AuditEvent.objects.filter(action="processing.authorization.approved").latest("pk")
    assert event.after["sca_exemption"] == "contactless"


@pytest.mark.django_db
def test_a_wrong_pin_resets_nothing_and_a_right_one_resets_both_counters(brand, eur_rate):
    tc = active_card(brand=brand, **WEB)
    for _n in range(3):
        approved(tap(tc), ScaExemption.CONTACTLESS)
    approved(online(tc, ScaExemption.LOW_VALUE), ScaExemption.LOW_VALUE)
    declined(tap(tc, pin_entered=True, pin="1357"), "pin_wrong", "55")
    assert counters(tc) == (3, 6_000, 1, 2_000)
    assert tc.refresh().wrong_pin_count == 1
    approved(decide(tc, channel=Channel.POS_CHIP, pin_entered=True, pin=PIN))
    assert counters(tc) == (0, 0, 0, 0)
    assert tc.refresh().wrong_pin_count == 0


@pytest.mark.django_db
def test_an_atm_withdrawal_with_its_pin_resets_the_counters(eur_rate):
    tc = active_card()
    approved(tap(tc), ScaExemption.CONTACTLESS)
    approved(decide(tc, channel=Channel.ATM, amount_minor=10_000, pin_entered=True, pin=PIN))
    assert counters(tc) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_right_pin_resets_even_when_the_payment_is_declined(eur_rate):
    tc = active_card(balance_minor=50_000)
    approved(tap(tc), ScaExemption.CONTACTLESS)
    declined(
        decide(tc, channel=Channel.POS_CHIP, amount_minor=60_000, pin_entered=True, pin=PIN),
        "insufficient_funds",
        "51",
    )
    # The holder proved the card and the PIN: the authentication happened, the payment did not.
    assert counters(tc) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_polands_100_pln_without_a_pin_in_any_currency(brand, eur_rate):
    tc = active_card(brand=brand)
    approved(tap(tc, 10_000), ScaExemption.CONTACTLESS)
    declined(tap(tc, 10_001), "contactless_pin_required", _code(brand, "70", "65"))
    # A euro tap at a Polish terminal: its billing amount in PLN decides.
    declined(
        tap(tc, 2_501, currency="EUR", billing_amount_minor=10_004, billing_currency="PLN"),
        "contactless_pin_required",
        _code(brand, "70", "65"),
    )
    approved(tap(tc, 2_500, currency="EUR", billing_amount_minor=10_000, billing_currency="PLN"), "contactless")
    # Abroad the Polish limit does not apply: EUR 45 (180 PLN) goes without a PIN.
    approved(
        tap(tc, 4_500, currency="EUR", billing_amount_minor=18_000, billing_currency="PLN", merchant_country="DE"),
        ScaExemption.CONTACTLESS,
    )
    assert counters(tc) == (3, 38_000, 0, 0)
    # Above the limit the terminal asks for the PIN: a tap with it is SCA, whatever the amount.
    approved(tap(tc, 25_000, pin_entered=True, pin=PIN))
    assert counters(tc) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_the_eur_50_ceiling_with_the_zloty_converted_at_the_banks_rate(brand, eur_rate):
    tc = active_card(brand=brand)
    abroad = {"merchant_country": "DE", "merchant_name": "Lidl", "merchant_city": "Berlin"}
    # A euro tap is measured by its own amount, whatever the scheme's billing rate (here 4.10).
    approved(tap(tc, 5_000, currency="EUR", billing_amount_minor=20_500, **abroad), ScaExemption.CONTACTLESS)
    declined(
        tap(tc, 5_001, currency="EUR", billing_amount_minor=20_504, **abroad),
        "contactless_pin_required",
        _code(brand, "70", "65"),
    )
    # A zloty tap abroad: 200.00 PLN = EUR 50.00 at the bank's rate; 200.04 PLN = EUR 50.01.
    approved(tap(tc, 20_000, **abroad), ScaExemption.CONTACTLESS)
    declined(tap(tc, 20_004, **abroad), "contactless_pin_required", _code(brand, "70", "65"))


@pytest.mark.django_db
def test_a_euro_account_converts_polands_limit_into_euros(eur_rate):
    tc = active_card(currency="EUR")
    assert tc.card.account.currency == "EUR"
    approved(tap(tc, 2_500, currency="EUR"), ScaExemption.CONTACTLESS)  # 100.00 PLN at 4
    declined(tap(tc, 2_501, currency="EUR"), "contactless_pin_required", "70")  # 100.04 PLN
    approved(tap(tc, 10_000, currency="PLN", billing_amount_minor=2_500, billing_currency="EUR"), "contactless")
    assert counters(tc) == (2, 5_000, 0, 0)  # in the account's currency: euro cents


@pytest.mark.django_db
def test_without_a_provisioned_rate_the_fallback_setting_converts(settings):
    settings.PSD2_FALLBACK_EUR_PLN_RATE = Decimal(4)
    tc = active_card()
    approved(tap(tc, 20_000, merchant_country="DE"), ScaExemption.CONTACTLESS)
    declined(tap(tc, 20_004, merchant_country="DE"), "contactless_pin_required", "70")
    settings.PSD2_FALLBACK_EUR_PLN_RATE = Decimal(5)
    approved(tap(tc, 20_004, merchant_country="DE"), ScaExemption.CONTACTLESS)


@pytest.mark.django_db
def test_the_amount_mode_ends_the_exemption_by_the_total_not_the_number(settings, eur_rate):
    settings.PSD2_EXEMPTION_COUNTER = "amount"
    tc = active_card()
    euro_tap = {"currency": "EUR", "merchant_country": "DE"}
    for _n in range(3):
        approved(tap(tc, 4_000, billing_amount_minor=16_000, **euro_tap), ScaExemption.CONTACTLESS)
    # EUR 150 = 600 PLN since the last SCA: 480 + 160 is past it, 480 + 120 is not.
    declined(tap(tc, 4_000, billing_amount_minor=16_000, **euro_tap), "contactless_pin_required", "70")
    approved(tap(tc, 3_000, billing_amount_minor=12_000, **euro_tap), ScaExemption.CONTACTLESS)
    declined(tap(tc, 1, billing_amount_minor=4, **euro_tap), "contactless_pin_required", "70")
    assert counters(tc) == (4, 60_000, 0, 0)
    approved(tap(tc, pin_entered=True, pin=PIN))
    # The number does not end it: seven small taps in a row.
    for _n in range(7):
        approved(tap(tc, 100), ScaExemption.CONTACTLESS)
    assert counters(tc) == (7, 700, 0, 0)


@pytest.mark.django_db
def test_the_count_mode_ignores_the_total(eur_rate):
    tc = active_card()
    for _n in range(5):  # EUR 225 in total, past EUR 150: the number decides
        approved(tap(tc, 4_500, currency="EUR", billing_amount_minor=18_000, merchant_country="AT"), "contactless")
    declined(tap(tc, 100), "contactless_pin_required", "70")


@pytest.mark.django_db
def test_declined_taps_are_not_counted(brand, eur_rate):
    tc = active_card(brand=brand, balance_minor=1_000)
    declined(tap(tc, 2_000), "insufficient_funds", "51")
    assert counters(tc) == (0, 0, 0, 0)
    card_contactless_set(actor=HOLDER, card=tc.card, enabled=False)
    declined(tap(tc, 500), "contactless_disabled", _code(brand, "9G", "57"))
    assert counters(tc) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_retry_is_not_counted_twice(eur_rate):
    tc = active_card()
    request = request_for(tc, channel=Channel.POS_CONTACTLESS, amount_minor=2_000)
    first = authorization_decide(actor=PROCESSOR, request=request)
    retry = authorization_decide(actor=PROCESSOR, request=request)
    assert (first.replayed, retry.replayed) == (False, True)
    assert retry.authorization.pk == first.authorization.pk
    assert counters(tc) == (1, 2_000, 0, 0)


@pytest.mark.django_db
def test_a_partial_approval_counts_what_it_held(eur_rate):
    tc = active_card(balance_minor=3_000)
    authorization = approved(tap(tc, 5_000, partial_supported=True), ScaExemption.CONTACTLESS)
    assert (authorization.response_code, authorization.held_minor) == ("10", 3_000)
    assert counters(tc) == (1, 3_000, 0, 0)


@pytest.mark.django_db
def test_a_reversal_leaves_the_tap_counted(eur_rate):
    tc = active_card()
    authorization = approved(tap(tc), ScaExemption.CONTACTLESS)
    authorization_reverse(actor=PROCESSOR, authorization_id=authorization.processor_id, reversal_id="rev-1")
    assert Authorization.objects.get(pk=authorization.pk).status == AuthorizationStatus.REVERSED
    assert counters(tc) == (1, 2_000, 0, 0)


@pytest.mark.django_db
def test_a_phone_wallet_payment_is_not_counted(eur_rate):
    tc = active_card()
    Card.objects.filter(pk=tc.card.pk).update(mobile_payments_enabled=True)
    tc.refresh()
    approved(decide(tc, channel=Channel.WALLET, amount_minor=30_000))
    assert counters(tc) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_the_counters_change_in_the_decisions_transaction(monkeypatch, eur_rate):
    tc = active_card()
    approved(tap(tc), ScaExemption.CONTACTLESS)
    written = services._card_updated

    def write_then_fail(*args: typing.Any, **kwargs: typing.Any) -> None:
        written(*args, **kwargs)
        raise RuntimeError("the database went away after the card's update")

    monkeypatch.setattr(services, "_card_updated", write_then_fail)
    with pytest.raises(RuntimeError):
        tap(tc)
    # Nothing of the failed decision stayed: not its counter, not its authorization, not its hold.
    assert counters(tc) == (1, 2_000, 0, 0)
    assert Authorization.objects.filter(card=tc.card).count() == 1
    assert tc.account.held_minor == 2_000


@pytest.mark.django_db
def test_a_tap_adds_the_rate_and_one_card_update(django_assert_num_queries, eur_rate):
    tc = active_card()
    tap(tc, 100)  # the day's counter row exists from here on
    request = request_for(tc, channel=Channel.POS_CONTACTLESS, amount_minor=100)
    # savepoint; reads: card with account (locked), id look-up, counters, the reference rate; writes: insert,
    # hold, counters, audit, the card's PSD2 counter; release
    with django_assert_num_queries(11):
        assert authorization_decide(actor=PROCESSOR, request=request).authorization.approved


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
@pytest.mark.django_db(transaction=True)
def test_racing_taps_on_one_card_never_pass_five_in_a_row():
    ConversionRate.objects.create(
        from_currency="EUR", to_currency="PLN", rate=Decimal(4), valid_from=timezone.now() - dt.timedelta(days=1)
    )
    tc = active_card()
    requests = [request_for(tc, channel=Channel.POS_CONTACTLESS, amount_minor=1_000 + n) for n in range(12)]
    run_together(*(lambda r=r: authorization_decide(actor=PROCESSOR, request=r) for r in requests))
    rows = list(Authorization.objects.filter(card=tc.card).order_by("pk"))
    assert len(rows) == 12
    # The card lock serializes them: the first five in commit order pass, every later one asks for the PIN.
    assert [row.approved for row in rows] == [True] * 5 + [False] * 7
    assert {row.decline_reason for row in rows[5:]} == {"contactless_pin_required"}
    assert counters(tc) == (5, sum(row.held_minor for row in rows[:5]), 0, 0)


# --- Internet payments (RTS art. 13, 16, 18; merchant-initiated) -----------------------------------


@pytest.mark.django_db
def test_without_3d_secure_or_a_claim_the_soft_decline_stays(brand, eur_rate):
    tc = active_card(brand=brand, **WEB)
    declined(online(tc), "sca_required", _code(brand, "1A", "65"))
    assert counters(tc) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_low_value_claims_within_the_counter_then_3d_secure_resets_it(brand, eur_rate):
    tc = active_card(brand=brand, **WEB)
    for _n in range(5):
        approved(online(tc, ScaExemption.LOW_VALUE), ScaExemption.LOW_VALUE)
    assert counters(tc) == (0, 0, 5, 10_000)
    sixth = declined(online(tc, ScaExemption.LOW_VALUE), "sca_required", _code(brand, "1A", "65"))
    assert sixth.decided_by == "sca"
    # The merchant authenticates the holder with 3-D Secure: the challenge is SCA, both counters start again.
    approved(tap(tc), ScaExemption.CONTACTLESS)
    approved(online(tc, **three_ds(authenticate(tc, amount_minor=2_000))))
    assert counters(tc) == (0, 0, 0, 0)
    approved(online(tc, ScaExemption.LOW_VALUE), ScaExemption.LOW_VALUE)


@pytest.mark.django_db
def test_the_low_value_ceilings_the_banks_and_the_regulations(eur_rate):
    tc = active_card(**WEB)
    # The bank's figure: at most 100 PLN a payment (a euro payment by its billing amount).
    approved(online(tc, ScaExemption.LOW_VALUE, 10_000), ScaExemption.LOW_VALUE)
    declined(online(tc, ScaExemption.LOW_VALUE, 10_001), "sca_required", "1A")
    declined(
        online(tc, ScaExemption.LOW_VALUE, 2_500, currency="EUR", billing_amount_minor=10_250), "sca_required", "1A"
    )
    # The regulation's EUR 30 always applies: with a strong zloty (3 PLN per EUR), 100 PLN is EUR 33.33.
    ConversionRate.objects.create(from_currency="EUR", to_currency="PLN", rate=Decimal(3), valid_from=timezone.now())
    approved(online(tc, ScaExemption.LOW_VALUE, 9_000), ScaExemption.LOW_VALUE)
    declined(online(tc, ScaExemption.LOW_VALUE, 9_003), "sca_required", "1A")


@pytest.mark.django_db
def test_a_holder_who_switched_the_low_value_exemption_off_gets_3d_secure(eur_rate):
    tc = active_card(**WEB)
    ThreeDSProfile.objects.create(customer_id=tc.card.customer_id, low_value_exemption=False)
    declined(online(tc, ScaExemption.LOW_VALUE), "sca_required", "1A")
    assert counters(tc) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_the_amount_mode_ends_low_value_payments_at_the_banks_400_pln(settings):
    settings.PSD2_EXEMPTION_COUNTER = "amount"
    ConversionRate.objects.create(
        from_currency="EUR", to_currency="PLN", rate=Decimal("4.3"), valid_from=timezone.now()
    )
    tc = active_card(**WEB)
    for _n in range(4):
        approved(online(tc, ScaExemption.LOW_VALUE, 10_000), ScaExemption.LOW_VALUE)
    declined(online(tc, ScaExemption.LOW_VALUE, 1), "sca_required", "1A")
    assert counters(tc) == (0, 0, 4, 40_000)


@pytest.mark.django_db
def test_a_trusted_beneficiary_only_at_a_merchant_on_the_holders_list(brand, eur_rate):
    tc = active_card(brand=brand, **WEB)
    declined(
        online(tc, ScaExemption.TRUSTED_BENEFICIARY, merchant_id="MIDSHOP"), "sca_required", _code(brand, "1A", "65")
    )
    TrustedMerchant.objects.create(customer_id=tc.card.customer_id, name="Shop", merchant_id="MIDSHOP", country="PL")
    approved(online(tc, ScaExemption.TRUSTED_BENEFICIARY, 50_000, merchant_id="MIDSHOP"), "trusted_beneficiary")
    # The list applies claimed or not, and such payments count as remote payments without SCA.
    approved(online(tc, "", 1_000, merchant_id="MIDSHOP"), ScaExemption.TRUSTED_BENEFICIARY)
    assert counters(tc) == (0, 0, 2, 51_000)


@pytest.mark.django_db
def test_a_merchant_initiated_payment_needs_no_sca_and_is_not_counted(brand, eur_rate):
    tc = active_card(brand=brand, **WEB)
    for _n in range(5):
        approved(online(tc, ScaExemption.LOW_VALUE), ScaExemption.LOW_VALUE)
    # A subscription the merchant charges under the holder's mandate: past the counter and any amount.
    approved(online(tc, ScaExemption.MERCHANT_INITIATED, 250_000), ScaExemption.MERCHANT_INITIATED)
    assert counters(tc) == (0, 0, 5, 10_000)


@pytest.mark.django_db
def test_the_acquirers_risk_analysis_up_to_eur_500(brand, eur_rate):
    tc = active_card(brand=brand, **WEB)
    approved(online(tc, ScaExemption.TRA, 200_000), ScaExemption.TRA)  # 2 000 PLN = EUR 500
    declined(online(tc, ScaExemption.TRA, 200_004), "sca_required", _code(brand, "1A", "65"))
    assert counters(tc) == (0, 0, 1, 200_000)


@pytest.mark.django_db
def test_a_claim_is_for_internet_payments_only_and_must_be_known():
    tc = active_card()
    with pytest.raises(ValidationFailed) as terminal:
        request_for(tc, channel=Channel.POS_CONTACTLESS, sca_exemption=ScaExemption.LOW_VALUE)
    assert set(terminal.value.field_errors) == {"sca_exemption"}
    with pytest.raises(ValidationFailed):
        request_for(tc, channel=Channel.ECOMMERCE, sca_exemption=ScaExemption.CONTACTLESS)
    assert not Authorization.objects.exists()


def test_the_api_offers_exactly_the_claimable_exemptions():
    schema = AuthorizationIn.model_json_schema()
    offered = schema["properties"]["sca_exemption"]["anyOf"][0]["enum"]
    assert set(offered) == set(CLAIMABLE_EXEMPTIONS)


@pytest.mark.django_db
def test_the_claim_is_part_of_the_requests_identity(eur_rate):
    tc = active_card(**WEB)
    request = request_for(tc, channel=Channel.ECOMMERCE, sca_exemption=ScaExemption.LOW_VALUE)
    approved(authorization_decide(actor=PROCESSOR, request=request), ScaExemption.LOW_VALUE)
    with pytest.raises(AuthorizationIdConflict):
        authorization_decide(actor=PROCESSOR, request=dataclasses.replace(request, sca_exemption=ScaExemption.TRA))
    # Without a claim, a request hashes as it did before the field existed (a retry across the upgrade replays).
    plain = request_for(tc)
    fields = dataclasses.asdict(plain)
    del fields["sca_exemption"]
    fields["pan"] = pan_fingerprint(plain.pan)
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    before = hmac.new(
        settings.CARD_FINGERPRINT_KEY.encode(), b"kartosfera.authorization.v1\x00" + canonical.encode(), hashlib.sha256
    ).hexdigest()
    assert request_fingerprint(plain, card_fingerprint=pan_fingerprint(plain.pan)) == before


# --- Over the API ------------------------------------------------------------------------------------


@pytest.fixture
def processor(client):
    _key, token = api_key_create(actor=Actor.system("tests"), name="card processor", scopes=[ApiScope.PROCESSOR])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _body(tc: CardFixture, n: int, **overrides: typing.Any) -> dict[str, typing.Any]:
    values: dict[str, typing.Any] = {
        "id": f"psd2-{tc.card.pk}-{n}",
        "network_transaction_id": f"NT-psd2-{tc.card.pk}-{n}",
        "card": {"pan": tc.pan, "expiry": f"{tc.card.expiry:%Y-%m}"},
        "amount_minor": 2_000,
        "currency": "PLN",
        "merchant": {"name": "Sklep", "country": "PL", "mcc": "5399", "id": "MID9"},
        "channel": "ecommerce",
    }
    return values | overrides


def _post(processor, body: dict[str, typing.Any]):
    return processor.post("/api/processor/v1/authorizations", json.dumps(body), content_type="application/json")


@pytest.mark.django_db
def test_the_api_takes_a_claim_and_refuses_one_it_cannot_apply(processor, eur_rate):
    tc = active_card(brand=Brand.MASTERCARD, **WEB)
    answer = _post(processor, _body(tc, 1, sca_exemption="low_value")).json()
    assert (answer["approved"], answer["response_code"]) == (True, "00")
    assert Authorization.objects.get(processor_id=answer["id"]).sca_exemption == "low_value"
    refused = _post(processor, _body(tc, 2, sca_exemption="low_value", channel="pos_chip"))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["sca_exemption"]
    unknown = _post(processor, _body(tc, 3, sca_exemption="contactless"))
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["sca_exemption"]
    assert Authorization.objects.count() == 1


@pytest.mark.django_db
def test_the_api_answers_the_sixth_tap_with_the_pin_soft_decline(processor, brand, eur_rate):
    tc = active_card(brand=brand)
    for n in range(5):
        assert _post(processor, _body(tc, n, channel="pos_contactless")).json()["approved"]
    answer = _post(processor, _body(tc, 5, channel="pos_contactless")).json()
    assert answer["approved"] is False
    assert (answer["decline_reason"], answer["response_code"]) == ("contactless_pin_required", _code(brand, "70", "65"))
    assert answer["merchant_advice_code"] is None
    assert answer["decline_message"]["pl"] == (
        "Płatność zbliżeniowa powyżej kwoty dozwolonej bez PIN-u albo po kilku kolejnych płatnościach bez PIN-u "
        "wymaga podania PIN-u karty."
    )
