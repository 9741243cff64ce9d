"""The card core tells the holder of a payment their own control declined: a portal entry and, hourly, an SMS."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kartosfera.core.money import MAX_AMOUNT_MINOR
from kartosfera.customers.models import Customer
from kartosfera.notices.models import DeclineNotice
from kartosfera.notices.services import decline_sms_set
from kartosfera.notices.tests.helpers import DECLINES, HOLDER, control_in_sms, decline, holder_card, sms_text
from kartosfera.notifications import gsm7
from kartosfera.notifications.backends import locmem
from kartosfera.notifications.models import OutboundSms
from kartosfera.processing.adjustments import authorization_increment
from kartosfera.processing.advices import advice_record
from kartosfera.processing.codes import Reason
from kartosfera.processing.models import Channel
from kartosfera.processing.services import authorization_decide
from kartosfera.processing.tests.helpers import PROCESSOR, decide, request_for

pytestmark = pytest.mark.django_db
WARSAW = ZoneInfo("Europe/Warsaw")
CONTROLS = sorted(DECLINES)


@pytest.mark.parametrize("reason", CONTROLS)
def test_each_holder_control_decline_records_a_notice_and_texts_the_holder(reason):
    tc = holder_card()
    authorization = decline(tc, reason, merchant_name="Księgarnia Świętokrzyska").authorization

    notice = DeclineNotice.objects.get()
    assert (notice.card_id, notice.authorization_id, notice.control) == (tc.card.pk, authorization.pk, reason)
    assert notice.created_at == authorization.created_at
    text = sms_text(notice)
    assert notice.sms.to == tc.card.customer.phone_on_file and notice.sms.purpose == "notices.decline"
    assert f"*{tc.card.pan_last4}" in text and tc.pan not in text and tc.pan[:12] not in text
    assert control_in_sms(reason) in text
    assert "Ksiegarnia Swietokrzyska" in text
    assert gsm7.fits_one_segment(text), text


def test_the_sms_says_the_amount_in_the_payments_currency_polish_style(django_capture_on_commit_callbacks):
    tc = holder_card()
    with django_capture_on_commit_callbacks(execute=True):
        decline(
            tc,
            Reason.CONTACTLESS_DISABLED,
            amount_minor=12_000,
            currency="EUR",
            billing_amount_minor=51_000,
            merchant_name="AMAZON",
        )

    # Delivered after the commit through the SMS service, to the phone on file.
    (sent,) = locmem.outbox
    assert "120,00 EUR" in sent.text and "AMAZON" in sent.text and "510,00" not in sent.text
    assert sent.to == tc.card.customer.phone_on_file


def test_the_longest_merchant_name_and_amount_still_fit_one_segment():
    tc = holder_card(noncash_limit_default_minor=500_000)
    merchant = "Przedsiębiorstwo Handlowo-Usługowe Żółć " * 3  # past the model's 100 characters: cut by the API
    decline(tc, Reason.NONCASH_LIMIT_EXCEEDED, amount_minor=MAX_AMOUNT_MINOR, merchant_name=merchant[:100])

    text = sms_text(DeclineNotice.objects.get())
    assert gsm7.fits_one_segment(text), (gsm7.septets(text), text)
    assert "10 000 000 000 000,00 PLN" in text and "Przedsiebiorstwo Handlowo-Uslugow" in text
    assert control_in_sms(Reason.NONCASH_LIMIT_EXCEEDED) in text


def test_an_approval_and_other_declines_record_nothing_and_do_not_even_look():
    tc = holder_card(balance_minor=10_000)
    with CaptureQueriesContext(connection) as queries:
        assert decide(tc, amount_minor=1_000).authorization.approved
        assert decide(tc, amount_minor=50_000).authorization.decline_reason == Reason.INSUFFICIENT_FUNDS
        assert decide(tc, channel=Channel.ECOMMERCE).authorization.decline_reason == Reason.SCA_REQUIRED
        assert decide(tc, channel=Channel.ATM).authorization.decline_reason == Reason.PIN_REQUIRED
        wrong = decide(tc, channel=Channel.ATM, pin_entered=True, pin="0000")
        assert wrong.authorization.decline_reason == Reason.PIN_WRONG
    assert not any("notices_" in (query["sql"] or "") for query in queries.captured_queries)
    assert not DeclineNotice.objects.exists() and not OutboundSms.objects.exists()


def test_a_holder_control_decline_adds_one_read_one_insert_and_the_sms_queued(django_assert_num_queries):
    tc = holder_card(balance_minor=10_000)
    decide(tc, amount_minor=100)  # the day's counter row exists from here on
    # savepoint; reads: card with account (locked), id look-up, counters, the EUR/PLN reference rate;
    # writes: the authorization, its audit row; release
    with django_assert_num_queries(8):
        assert decide(tc, amount_minor=50_000).authorization.decline_reason == Reason.INSUFFICIENT_FUNDS
    # ...and the notice's look-up, the SMS's row and the notice
    with django_assert_num_queries(8 + 3):
        decline(tc, Reason.MOBILE_PAYMENTS_DISABLED)
    # ...within the hour: the look-up and the notice only
    with django_assert_num_queries(8 + 2):
        decline(tc, Reason.MOBILE_PAYMENTS_DISABLED)


def test_a_retry_of_the_same_authorization_records_and_texts_nothing_more():
    tc = holder_card()
    tc.card.contactless_enabled = False
    tc.card.save(update_fields=["contactless_enabled"])
    request = request_for(tc, channel=Channel.POS_CONTACTLESS)
    first = authorization_decide(actor=PROCESSOR, request=request)
    again = authorization_decide(actor=PROCESSOR, request=request)

    assert again.replayed and again.authorization.pk == first.authorization.pk
    assert DeclineNotice.objects.count() == 1 and OutboundSms.objects.count() == 1


def test_one_sms_per_card_and_control_in_a_sliding_hour_but_every_decline_is_listed():
    tc = holder_card()
    start = dt.datetime(2026, 11, 30, 10, 0, tzinfo=WARSAW)
    with time_machine.travel(start, tick=False):
        decline(tc, Reason.CONTACTLESS_DISABLED)
    with time_machine.travel(start + dt.timedelta(minutes=59), tick=False):
        decline(tc, Reason.CONTACTLESS_DISABLED)  # within the hour: listed, no SMS
        decline(tc, Reason.MOBILE_PAYMENTS_DISABLED)  # another control: its own SMS
    with time_machine.travel(start + dt.timedelta(minutes=60), tick=False):
        decline(tc, Reason.CONTACTLESS_DISABLED)  # an hour after the last SMS: texted again
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        decline(tc, Reason.CONTACTLESS_DISABLED)

    sent = [
        (notice.control, notice.sms_sent)
        for notice in DeclineNotice.objects.order_by("created_at", "pk").select_related("sms")
    ]
    assert sent == [
        (Reason.CONTACTLESS_DISABLED, True),
        (Reason.CONTACTLESS_DISABLED, False),
        (Reason.MOBILE_PAYMENTS_DISABLED, True),
        (Reason.CONTACTLESS_DISABLED, True),
        (Reason.CONTACTLESS_DISABLED, False),
    ]
    assert OutboundSms.objects.count() == 3


def test_each_card_has_its_own_hour():
    first, second = holder_card(), holder_card()
    decline(first, Reason.MOBILE_PAYMENTS_DISABLED)
    decline(second, Reason.MOBILE_PAYMENTS_DISABLED)
    assert [notice.sms_sent for notice in DeclineNotice.objects.order_by("pk")] == [True, True]


def test_switched_off_the_holder_gets_no_sms_but_the_card_page_entry_and_on_again_the_sms():
    tc = holder_card()
    customer = tc.card.customer
    decline_sms_set(actor=HOLDER, customer=customer, enabled=False)
    decline(tc, Reason.NONCASH_LIMIT_EXCEEDED)
    decline_sms_set(actor=HOLDER, customer=customer, enabled=True)
    decline(tc, Reason.NONCASH_LIMIT_EXCEEDED)

    assert [notice.sms_sent for notice in DeclineNotice.objects.order_by("pk")] == [False, True]


def test_a_holder_without_a_phone_is_listed_without_an_sms():
    tc = holder_card()
    Customer.objects.filter(pk=tc.card.customer_id).update(phone_on_file=None)
    decline(tc, Reason.MOBILE_PAYMENTS_DISABLED)
    assert not DeclineNotice.objects.get().sms_sent and not OutboundSms.objects.exists()


def test_a_back_filled_decline_is_listed_without_an_sms():
    tc = holder_card()
    decline(tc, Reason.MOBILE_PAYMENTS_DISABLED, now=dt.datetime.now(tz=WARSAW) - dt.timedelta(days=2))
    assert not DeclineNotice.objects.get().sms_sent and not OutboundSms.objects.exists()


def test_a_declined_advice_or_increment_tells_nobody():
    tc = holder_card(noncash_limit_default_minor=500_000)
    # A stand-in decline by the scheme: no reason of ours, the card core did not decide it.
    advice_record(actor=PROCESSOR, request=request_for(tc, channel=Channel.ATM), approved=False, response_code="61")
    # A hotel's increment past the limit: the payment itself stands; the holder is not at a till.
    hotel = decide(tc, amount_minor=400_000, mcc="7011").authorization
    outcome = authorization_increment(
        actor=PROCESSOR, authorization_id=hotel.processor_id, increment_id="inc-1", amount_minor=200_000
    )
    assert outcome.adjustment.decline_reason == Reason.NONCASH_LIMIT_EXCEEDED
    assert not DeclineNotice.objects.exists() and not OutboundSms.objects.exists()
