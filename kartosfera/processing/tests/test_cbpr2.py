"""CBPR2: each converted payment's charge over the ECB rate, and the message once per card, currency and month."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer
from kartosfera.notifications import gsm7
from kartosfera.notifications.backends import locmem
from kartosfera.notifications.models import OutboundSms
from kartosfera.processing.advices import advice_record
from kartosfera.processing.cbpr2 import (
    NoticeOutcome,
    applied_rate,
    conversion_charge_record,
    ecb_cross_rate,
    ecb_rates_set,
    markup_percent,
)
from kartosfera.processing.models import ConversionCharge, ConversionNotice, EcbReferenceRate
from kartosfera.processing.tests.helpers import PROCESSOR, CardFixture, active_card, card_of, decide, request_for
from kartosfera.testing.concurrency import run_together
from kartosfera.testing.staff import staff_client
from kartosfera.testing.tasks import Queued
from kartosfera.users.models import User

BANK = PROCESSOR
# The ECB's fixing: 1 EUR = 4.2350 PLN = 25.105 CZK = 385.40 HUF.
ECB = {"PLN": Decimal("4.2350"), "CZK": Decimal("25.105"), "HUF": Decimal("385.40")}


def provision_ecb_rates(*, days_ago: int = 1, rates: dict[str, Decimal] | None = None, **values) -> None:
    ecb_rates_set(
        actor=BANK,
        rate_date=timezone.localdate() - dt.timedelta(days=days_ago),
        rates=rates or ECB,
        available_from=values.pop("available_from", timezone.now() - dt.timedelta(hours=days_ago * 24 - 1)),
    )


def pay_in_euro(tc: CardFixture, *, amount: int = 10_000, rate: str = "4.2850", **overrides):
    """A payment of ``amount`` euro cents, converted by the scheme at ``rate`` into the PLN account."""
    billing = int((Decimal(amount) * Decimal(rate)).quantize(Decimal(1)))
    return decide(
        tc,
        amount_minor=amount,
        currency="EUR",
        billing_amount_minor=billing,
        billing_currency="PLN",
        billing_rate=Decimal(rate),
        **overrides,
    )


def messages_to(tc: CardFixture) -> list[str]:
    phone = tc.card.customer.phone_on_file
    return [message.text for message in locmem.outbox if message.to == phone]


def charge_audit(authorization) -> AuditEvent:
    return AuditEvent.objects.get(
        action="processing.conversion_charge.recorded", after__authorization=authorization.processor_id
    )


@pytest.fixture
def rates(db) -> None:
    provision_ecb_rates()


# --- The rates and the arithmetic ------------------------------------------------------


@pytest.mark.django_db
def test_the_ecb_rate_of_a_pair_goes_through_the_euro_and_takes_both_legs_from_one_fixing():
    now = timezone.now()
    provision_ecb_rates(days_ago=2, rates={"PLN": Decimal("4.3000"), "CZK": Decimal("25.000")})
    provision_ecb_rates(days_ago=1, rates={"PLN": Decimal("4.2350")})  # no CZK fixing that day

    assert ecb_cross_rate("EUR", "PLN", at=now).rate == Decimal("4.2350")
    assert ecb_cross_rate("PLN", "EUR", at=now).rate == 1 / Decimal("4.2350")
    czk = ecb_cross_rate("CZK", "PLN", at=now)
    assert czk is not None
    assert (czk.rate, czk.rate_date) == (Decimal("4.3000") / Decimal("25.000"), timezone.localdate() - dt.timedelta(2))
    assert ecb_cross_rate("HUF", "PLN", at=now) is None


@pytest.mark.django_db
def test_a_days_rates_are_available_from_their_publication_not_before():
    today = timezone.localdate()
    ecb_rates_set(actor=BANK, rate_date=today - dt.timedelta(days=1), rates={"PLN": Decimal("4.2350")})
    published = EcbReferenceRate.objects.get().available_from
    assert timezone.localtime(published).time() == dt.time(16, 0)  # Warsaw and Frankfurt share the time zone

    assert ecb_cross_rate("EUR", "PLN", at=published - dt.timedelta(seconds=1)) is None
    assert ecb_cross_rate("EUR", "PLN", at=published).rate == Decimal("4.2350")
    # Ten days without a fixing and the rate is stale: none, rather than a misleading mark-up.
    assert ecb_cross_rate("EUR", "PLN", at=published + dt.timedelta(days=10, seconds=1)) is None


@pytest.mark.parametrize(
    ("applied", "reference", "percent"),
    [
        ("4.2850", "4.2350", "1.18"),  # 1.1806 %
        ("4.2350", "4.2350", "0.00"),
        ("4.2300", "4.2350", "-0.12"),  # a rate better than the ECB's
        ("0.172500", str(Decimal("4.2350") / Decimal("25.105")), "2.26"),  # CZK into PLN through the euro
    ],
)
def test_the_markup_is_the_applied_rate_over_the_ecb_rate_in_percent_half_up(applied, reference, percent):
    assert markup_percent(Decimal(applied), Decimal(reference)) == Decimal(percent)


@pytest.mark.django_db
def test_without_a_rate_from_the_scheme_the_applied_rate_is_the_billing_amount_over_the_amount():
    tc = active_card()
    authorization = decide(
        tc, amount_minor=100_000, currency="HUF", billing_amount_minor=1_130, billing_currency="PLN"
    ).authorization
    assert applied_rate(authorization) == Decimal("11.30") / Decimal("1000.00")


# --- The charge and the message --------------------------------------------------------


@pytest.mark.django_db
def test_the_first_converted_payment_of_the_month_records_its_charge_and_texts_the_holder(
    rates, django_capture_on_commit_callbacks
):
    tc = active_card()
    with django_capture_on_commit_callbacks(execute=True):
        authorization = pay_in_euro(tc).authorization

    charge = ConversionCharge.objects.get(authorization=authorization)
    assert (charge.from_currency, charge.to_currency) == ("EUR", "PLN")
    assert (charge.applied_rate, charge.reference_rate) == (Decimal("4.285"), Decimal("4.235"))
    assert (charge.markup_percent, charge.reference_date) == (Decimal("1.18"), timezone.localdate() - dt.timedelta(1))
    [text] = messages_to(tc)
    assert f"*{tc.card.pan_last4}" in text and "EUR" in text and "1,18%" in text  # the bank's language: Polish
    # From the card's bank, named in the text and as the sender.
    assert text.startswith(f"{tc.card.bank.sms_sender}: ")
    assert [sms.sender for sms in locmem.outbox] == [tc.card.bank.sms_sender]
    assert gsm7.is_gsm7(text) and gsm7.septets(text) <= gsm7.SEGMENT_SEPTETS
    notice = ConversionNotice.objects.get()
    assert (notice.card_id, notice.currency, notice.month) == (
        tc.card.pk,
        "EUR",
        authorization.local_date.replace(day=1),
    )
    audit = charge_audit(authorization)
    assert audit.after["markup_percent"] == "1.18" and audit.after["message"] == NoticeOutcome.SENT
    assert audit.customer_id == tc.card.customer_id


@pytest.mark.django_db
def test_the_text_is_in_english_too():
    from kartosfera.processing.sms_texts import SMS_CONVERSION_CHARGE

    with translation.override("en"):
        text = SMS_CONVERSION_CHARGE.render(bank="BS Łomża", last4="1234", currency="CZK", markup="2.26").text
    assert text == (
        "BS Lomza: card *1234 paid in CZK. Total currency conversion charge: 2.26% over the ECB reference rate. "
        "Turn these texts off in portal Settings."
    )


@pytest.mark.django_db
def test_the_second_payment_in_that_currency_that_month_is_charged_but_not_texted_again(
    rates, django_capture_on_commit_callbacks
):
    tc = active_card()
    with django_capture_on_commit_callbacks(execute=True):
        pay_in_euro(tc)
        second = pay_in_euro(tc, amount=2_000, rate="4.3000").authorization

    assert ConversionCharge.objects.get(authorization=second).markup_percent == Decimal("1.53")
    assert len(messages_to(tc)) == 1
    assert charge_audit(second).after["message"] == NoticeOutcome.ALREADY_SENT


@pytest.mark.django_db
def test_another_currency_or_another_month_texts_again(rates, django_capture_on_commit_callbacks):
    tc = active_card()
    with django_capture_on_commit_callbacks(execute=True):
        pay_in_euro(tc)
        decide(tc, amount_minor=50_000, currency="CZK", billing_amount_minor=8_650, billing_currency="PLN")
    assert len(messages_to(tc)) == 2

    # A new month: the first payment in euro of it texts again (the month is the payment's Warsaw month). Its
    # charge is over the ECB rate of its own time (Authorization.created_at is the decision's moment).
    next_month = timezone.now() + dt.timedelta(days=32)
    provision_ecb_rates(days_ago=0, available_from=next_month - dt.timedelta(hours=12))
    with django_capture_on_commit_callbacks(execute=True):
        later = pay_in_euro(tc, now=next_month).authorization
    assert later.local_date.replace(day=1) != timezone.localdate().replace(day=1)
    assert len(messages_to(tc)) == 3
    assert ConversionNotice.objects.filter(card=tc.card).count() == 3


@pytest.mark.django_db
def test_a_holder_who_opted_out_is_charged_and_shown_the_charge_but_not_texted(
    rates, django_capture_on_commit_callbacks
):
    tc = active_card()
    Customer.objects.filter(pk=tc.card.customer_id).update(conversion_charge_sms=False)
    with django_capture_on_commit_callbacks(execute=True):
        authorization = pay_in_euro(tc).authorization

    assert ConversionCharge.objects.filter(authorization=authorization).exists()
    assert messages_to(tc) == [] and not ConversionNotice.objects.exists()
    assert charge_audit(authorization).after["message"] == NoticeOutcome.OPTED_OUT

    # Opted in again within the month: the next payment in euro is the month's first message.
    Customer.objects.filter(pk=tc.card.customer_id).update(conversion_charge_sms=True)
    with django_capture_on_commit_callbacks(execute=True):
        pay_in_euro(tc)
    assert len(messages_to(tc)) == 1


@pytest.mark.django_db
def test_the_text_goes_to_the_portal_phone_when_the_holder_has_one(rates, django_capture_on_commit_callbacks):
    tc = active_card()
    User.objects.create_user(
        f"holder-{tc.card.customer_id}", kind="customer", customer=tc.card.customer, portal_phone="+48609990001"
    )
    with django_capture_on_commit_callbacks(execute=True):
        pay_in_euro(tc)

    assert [m.to for m in locmem.outbox] == ["+48609990001"]


@pytest.mark.django_db
def test_a_holder_without_a_phone_is_charged_and_the_audit_says_why_no_text(rates, django_capture_on_commit_callbacks):
    tc = active_card()
    Customer.objects.filter(pk=tc.card.customer_id).update(phone_on_file=None)
    with django_capture_on_commit_callbacks(execute=True):
        authorization = pay_in_euro(tc).authorization

    assert locmem.outbox == []
    assert charge_audit(authorization).after["message"] == NoticeOutcome.NO_PHONE


@pytest.mark.django_db
def test_a_payment_recorded_days_late_is_charged_but_not_texted(rates):
    tc = active_card()
    provision_ecb_rates(days_ago=4)  # the rate of the payment's own time (Authorization.created_at)
    authorization = pay_in_euro(tc, now=timezone.now() - dt.timedelta(days=3)).authorization

    conversion_charge_record(authorization_id=authorization.pk)

    assert ConversionCharge.objects.filter(authorization=authorization).exists()
    assert not OutboundSms.objects.exists()
    assert charge_audit(authorization).after["message"] == NoticeOutcome.TOO_LATE


@pytest.mark.django_db
def test_a_retried_job_records_once_and_texts_once(rates):
    tc = active_card()
    authorization = pay_in_euro(tc).authorization

    first = conversion_charge_record(authorization_id=authorization.pk)
    again = conversion_charge_record(authorization_id=authorization.pk)

    assert first is not None and again is not None and first.pk == again.pk
    assert ConversionCharge.objects.count() == 1
    assert OutboundSms.objects.filter(purpose="processing.conversion_charge").count() == 1
    assert AuditEvent.objects.filter(action="processing.conversion_charge.recorded").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [
        {},  # in the account's currency: nothing to convert
        {"currency": "USD", "amount_minor": 1_000, "billing_amount_minor": 3_900, "billing_currency": "PLN"},  # not EEA
        # Declined for its funds (within the daily limit: a limit's decline sends the holder its notice's SMS).
        {"currency": "EUR", "amount_minor": 1_000_00, "billing_amount_minor": 4_000_00, "billing_currency": "PLN"},
    ],
    ids=["domestic", "outside-the-eea", "declined"],
)
def test_no_job_is_queued_for_a_payment_without_a_cbpr2_charge(rates, django_capture_on_commit_callbacks, overrides):
    """The hook costs a domestic or a declined payment nothing: no query, no task (the card core's speed)."""
    tc = active_card(balance_minor=100_000)
    with django_capture_on_commit_callbacks() as callbacks:
        decision = decide(tc, **overrides)
    assert decision.authorization.approved == (overrides.get("amount_minor") != 1_000_00)
    assert callbacks == []
    assert conversion_charge_record(authorization_id=decision.authorization.pk) is None


@pytest.mark.django_db
def test_without_an_ecb_rate_nothing_is_recorded_and_the_gap_is_logged(caplog):
    tc = active_card()
    authorization = pay_in_euro(tc).authorization

    with caplog.at_level(logging.WARNING, logger="kartosfera.processing.cbpr2"):
        assert conversion_charge_record(authorization_id=authorization.pk) is None

    assert not ConversionCharge.objects.exists() and not OutboundSms.objects.exists()
    assert "no ECB reference rate" in caplog.text


@pytest.mark.django_db
def test_a_stand_in_approval_in_euro_is_charged_and_texted_like_a_decision(rates, django_capture_on_commit_callbacks):
    tc = active_card()
    request = request_for(
        tc, amount_minor=20_000, currency="EUR", billing_amount_minor=85_700, billing_currency="PLN", channel="atm"
    )
    with django_capture_on_commit_callbacks(execute=True):
        decision = advice_record(actor=PROCESSOR, request=request, approved=True, response_code="00")

    assert ConversionCharge.objects.get(authorization=decision.authorization).markup_percent == Decimal("1.18")
    assert len(messages_to(tc)) == 1


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_two_payments_jobs_racing_text_the_holder_once():
    provision_ecb_rates()
    tc = active_card()
    authorizations = [pay_in_euro(tc).authorization for _ in range(4)]

    run_together(*(lambda a=a: conversion_charge_record(authorization_id=a.pk) for a in authorizations))

    assert ConversionCharge.objects.count() == 4
    assert ConversionNotice.objects.count() == 1
    assert OutboundSms.objects.filter(purpose="processing.conversion_charge").count() == 1
    outcomes = sorted(
        AuditEvent.objects.filter(action="processing.conversion_charge.recorded").values_list(
            "after__message", flat=True
        )
    )
    assert outcomes == [NoticeOutcome.ALREADY_SENT] * 3 + [NoticeOutcome.SENT]


# --- What the holder sees --------------------------------------------------------------


def _history(card_id: int) -> str:
    return reverse("portal:card_history", args=[card_id])


def _page_text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def anna_card(client, cardholder, debit_product) -> CardFixture:
    client.force_login(cardholder.user)
    return card_of(cardholder.customer, debit_product, balance_minor=500_000)


@pytest.mark.django_db
def test_the_history_shows_a_converted_payments_charge_over_the_ecb_rate_in_polish_and_english(
    client, rates, anna_card
):
    authorization = pay_in_euro(anna_card).authorization
    conversion_charge_record(authorization_id=authorization.pk)
    decide(anna_card, amount_minor=1_000)  # a payment in złoty: no such line

    polish = _page_text(client.get(_history(anna_card.card.pk)))
    client.cookies["django_language"] = "en"
    english = _page_text(client.get(_history(anna_card.card.pk), HTTP_ACCEPT_LANGUAGE="en"))

    day = timezone.localdate() - dt.timedelta(days=1)
    assert f"1,18% ponad kurs referencyjny EBC z {day:%d.%m.%Y} (1 EUR = 4,2350 PLN)" in polish
    assert polish.count("kurs referencyjny EBC") == 1
    assert f"1.18% over the ECB reference rate of {day:%d/%m/%Y} (1 EUR = 4.2350 PLN)" in english


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 25])
def test_the_charges_cost_the_history_no_query(client, rates, anna_card, count, django_assert_num_queries):
    for _ in range(count):
        conversion_charge_record(authorization_id=pay_in_euro(anna_card, amount=1_000).authorization.pk)
    # As without charges: user, card (with product and account), the count, the page's keys, its authorizations
    # (with their charges), their clearings, the holds (processing/selectors.py: the history); the session comes
    # from the cache.
    with django_assert_num_queries(7):
        response = client.get(_history(anna_card.card.pk))
    assert _page_text(response).count("1,18%") == min(count, 20)


@pytest.mark.django_db
def test_staff_see_the_charge_in_the_back_office_history_too(rates, cardholder, debit_product, staff):
    tc = card_of(cardholder.customer, debit_product, balance_minor=500_000)
    conversion_charge_record(authorization_id=pay_in_euro(tc).authorization.pk)

    page = staff_client(staff["agent"]).get(
        reverse("backoffice:card_history", args=[cardholder.customer.pk, tc.card.pk])
    )

    assert "1,18% ponad kurs referencyjny EBC" in _page_text(page)


def test_a_credit_products_own_conversion_fee_is_part_of_the_stated_total_charge(
    rates, django_capture_on_commit_callbacks
):
    """CBPR2 Art. 4: the total charge includes every charge for the conversion, the product's fee included."""
    from kartosfera.cards.credit_terms import credit_terms_set
    from kartosfera.cards.models import Funding
    from kartosfera.statements.tests.helpers import TERMS
    from kartosfera.testing import factories

    product = factories.product_factory(funding=Funding.CREDIT)
    credit_terms_set(actor=BANK, product=product, **{**TERMS, "fx_markup_percent": Decimal("2.00")})
    tc = card_of(factories.customer_factory(), product)
    with django_capture_on_commit_callbacks(execute=True):
        authorization = pay_in_euro(tc).authorization

    charge = ConversionCharge.objects.get(authorization=authorization)
    # 4.2850 x 1.02 = 4.37070 over the ECB's 4.2350: +3.20 % (without the fee it would read 1.18 %).
    assert charge.markup_percent == Decimal("3.20")
    assert charge_audit(authorization).after["product_fee_percent"] == "2.00"
    [text] = messages_to(tc)
    assert "3,20%" in text


@pytest.mark.django_db(transaction=True)
def test_the_charge_is_queued_after_the_approval_commits_and_recorded_by_each_production_queue(rates, task_queue):
    tc = active_card()
    task_queue.work()  # whatever making the card queued

    authorization = pay_in_euro(tc).authorization

    # Only the authorization's id on the queue; nothing recorded before the worker runs.
    assert task_queue.queued() == [Queued("conversion_charge_record_task", args=[authorization.pk], run_after=None)]
    assert not ConversionCharge.objects.exists()
    task_queue.work()

    charge = ConversionCharge.objects.get(authorization=authorization)
    assert charge.markup_percent == Decimal("1.18")
    # The task texted the holder through the same queue: the worker ran that delivery too.
    [text] = messages_to(tc)
    assert "1,18%" in text
    assert task_queue.queued() == []
