"""The card's page lists the payments declined by the holder's settings, each with the link to that setting."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from kartosfera.notices.controls import DECLINE_NOTICE_CONTROLS
from kartosfera.notices.services import decline_sms_set
from kartosfera.notices.tests.helpers import HOLDER, decline
from kartosfera.processing.codes import Reason
from kartosfera.processing.tests.helpers import card_of

pytestmark = pytest.mark.django_db


def _page(client, card) -> str:
    return client.get(reverse("portal:card_detail", args=[card.pk])).content.decode()


def _name(reason: str) -> str:
    with translation.override("pl"):
        return str(DECLINE_NOTICE_CONTROLS[reason])


@pytest.fixture
def anna_card(cardholder, debit_product):
    return card_of(cardholder.customer, debit_product)


def test_the_card_page_lists_the_decline_with_its_control_amount_and_the_settings_link(anna, anna_card):
    decline(anna_card, Reason.NONCASH_LIMIT_EXCEEDED, amount_minor=600_000, merchant_name="Media Expert Łomża")

    html = _page(anna, anna_card.card)
    section = html.split('id="declines"', 1)[1].split("</section>", 1)[0]
    assert "Media Expert Łomża" in section
    assert "6\xa0000,00\xa0zł" in section  # the payment's amount, Polish style
    assert _name(Reason.NONCASH_LIMIT_EXCEEDED) in section
    assert reverse("portal:card_limits", kwargs={"card_id": anna_card.card.pk}) in section
    assert reverse("profile:notifications") in section
    assert anna_card.pan not in html


def test_the_list_stays_when_the_holder_switched_the_sms_off(anna, anna_card, cardholder):
    decline_sms_set(actor=HOLDER, customer=cardholder.customer, enabled=False)
    decline(anna_card, Reason.MOBILE_PAYMENTS_DISABLED, merchant_name="Żabka")
    section = _page(anna, anna_card.card).split('id="declines"', 1)[1]
    assert "Żabka" in section
    assert reverse("portal:card_detail", args=[anna_card.card.pk]) + "#manage" in section  # activate them there


def test_newest_first_at_most_ten_and_only_the_last_30_days(anna, anna_card):
    start = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        decline(anna_card, Reason.MOBILE_PAYMENTS_DISABLED, merchant_name="Too old")
    for day in range(12):
        with time_machine.travel(start + dt.timedelta(days=20 + day), tick=False):
            decline(anna_card, Reason.MOBILE_PAYMENTS_DISABLED, merchant_name=f"Shop {day:02d}")
    with time_machine.travel(start + dt.timedelta(days=33), tick=False):
        section = _page(anna, anna_card.card).split('id="declines"', 1)[1].split("</section>", 1)[0]

    shown = [f"Shop {day:02d}" for day in range(12) if f"Shop {day:02d}" in section]
    assert shown == [f"Shop {day:02d}" for day in range(2, 12)]
    assert section.index("Shop 11") < section.index("Shop 02")
    assert "Too old" not in section


def test_a_card_without_declines_shows_no_list(anna, anna_card):
    assert 'id="declines"' not in _page(anna, anna_card.card)


def test_another_customers_declines_never_show_on_this_customers_card_page(
    anna, anna_card, second_cardholder, debit_product
):
    bartosz_card = card_of(second_cardholder.customer, debit_product)
    decline(bartosz_card, Reason.MOBILE_PAYMENTS_DISABLED, merchant_name="Sklep Bartosza")
    decline(anna_card, Reason.CONTACTLESS_DISABLED, merchant_name="Sklep Anny")

    html = _page(anna, anna_card.card)
    assert "Sklep Anny" in html and "Sklep Bartosza" not in html
    response = anna.get(reverse("portal:card_detail", args=[bartosz_card.card.pk]))
    assert response.status_code == 404 and "Sklep Bartosza" not in response.content.decode()


def test_the_card_page_reads_the_list_in_one_query_however_many_declines(
    anna, anna_card, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    decline(anna_card, Reason.MOBILE_PAYMENTS_DISABLED)
    with CaptureQueriesContext(connection) as one:
        _page(anna, anna_card.card)
    for _ in range(9):
        decline(anna_card, Reason.MOBILE_PAYMENTS_DISABLED)
    decline(anna_card, Reason.CONTACTLESS_DISABLED)
    with django_assert_max_num_queries(len(one)):
        _page(anna, anna_card.card)


def test_the_sms_of_a_holder_with_a_portal_account_goes_to_the_portal_phone(anna, anna_card):
    from kartosfera.notices.models import DeclineNotice
    from kartosfera.notices.tests.helpers import ANNAS_PHONE

    decline(anna_card, Reason.MOBILE_PAYMENTS_DISABLED)
    assert DeclineNotice.objects.get().sms.to == ANNAS_PHONE
