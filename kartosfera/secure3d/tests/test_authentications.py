"""The holder's 3-D Secure authentications (/3d-secure/authentications/): list and detail, theirs only."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from kartosfera.acs.models import AuthenticationRecord
from kartosfera.acs.selectors import PAGE_SIZE
from kartosfera.acs.tests import records
from kartosfera.processing.tests.helpers import card_of

pytestmark = pytest.mark.django_db

LIST = reverse("secure3d:authentications")


def _detail(record: AuthenticationRecord) -> str:
    return reverse("secure3d:authentication_detail", args=[record.acs_trans_id])


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def annas_card(cardholder, debit_product):
    return card_of(cardholder.customer, debit_product, balance_minor=200_000)


@pytest.fixture
def bartosz_card(second_cardholder, debit_product):
    return card_of(second_cardholder.customer, debit_product, balance_minor=200_000)


def test_the_list_shows_each_authentication_newest_first_in_polish(anna, annas_card):
    records.answered(annas_card, merchantName="Sklep Pierwszy")
    paid = records.confirmed(annas_card, merchantName="Sklep Drugi", purchaseAmount="12345")
    records.paid(annas_card, paid)
    records.not_confirmed(annas_card, reason="14", merchantName="Sklep Trzeci")

    response = anna.get(LIST)

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row.record.merchant_name for row in rows] == ["Sklep Trzeci", "Sklep Drugi", "Sklep Pierwszy"]
    assert [row.used for row in rows] == [False, True, False]
    text = _text(response)
    assert "123,45 zł" in text and "50,00 zł" in text
    assert f"•••• z końcówką {annas_card.card.pan_last4}" in text
    # The Polish date format ("30 listopada 2026 …"), not the English one.
    assert re.search(r"\d{1,2} [a-ząćęłńóśźż]+ \d{4}", text)
    for record in AuthenticationRecord.objects.all():
        assert _detail(record) in response.content.decode()


def test_the_list_in_english(anna, annas_card):
    records.not_confirmed(annas_card, reason="14")
    anna.cookies["django_language"] = "en"

    text = _text(anna.get(LIST, HTTP_ACCEPT_LANGUAGE="en"))

    assert "PLN 50.00" in text
    assert "Not confirmed" in text and "timed out" in text
    assert "3-D Secure authentications" in text


def test_the_list_has_no_secret_and_no_card_number(anna, annas_card):
    record = records.paid(annas_card, records.confirmed(annas_card)).authentication
    assert record is not None

    for url in (LIST, _detail(record)):
        page = anna.get(url).content.decode()
        assert annas_card.pan not in page
        assert record.authentication_value not in page
        assert "7391" not in page  # the 3DS PIN of the test profile


def test_the_settings_page_links_the_list(anna):
    assert LIST in anna.get(reverse("secure3d:index")).content.decode()


def test_an_empty_list_says_so(anna):
    assert 'id="authentications-empty"' in anna.get(LIST).content.decode()


def test_the_list_is_paged(anna, annas_card):
    for n in range(PAGE_SIZE + 2):
        records.answered(annas_card, purchaseAmount=str(100 + n))

    first, second = anna.get(LIST), anna.get(LIST + "?page=2")

    assert len(first.context["rows"]) == PAGE_SIZE and len(second.context["rows"]) == 2
    assert "?page=2" in first.content.decode()


@pytest.mark.parametrize("count", [1, 15])
def test_the_list_has_a_constant_query_budget(anna, annas_card, count, django_assert_num_queries):
    for n in range(count):
        # A challenge now and then: low-value Ys alone would reach the PSD2 count of 5 in a row.
        authenticated = records.confirmed if n % 5 == 0 else records.answered
        records.paid(annas_card, authenticated(annas_card, purchaseAmount=str(1000 + n)))
    # User, the count, the page (each authentication with its payment joined); the session comes from the cache.
    with django_assert_num_queries(3):
        response = anna.get(LIST)
    assert len(response.context["rows"]) == count and all(row.used for row in response.context["rows"])


def test_the_detail_shows_the_result_and_links_the_payment(anna, annas_card):
    record = records.confirmed(annas_card, purchaseAmount="4999")
    payment = records.paid(annas_card, record)

    response = anna.get(_detail(record))

    assert response.status_code == 200
    text = _text(response)
    assert "Księgarnia Sklep" in text and "49,99 zł" in text
    assert "Potwierdzona kodem 3-D Secure i kodem SMS" in text  # Polish, the portal's default
    history = reverse("portal:card_history", args=[annas_card.card.pk])
    day = payment.local_date.isoformat()
    link = f"{history}?date_from={day}&amp;date_to={day}#authorization-{payment.pk}"
    assert link in response.content.decode()
    # The link leads to the payment's line.
    assert f'id="authorization-{payment.pk}"' in anna.get(f"{history}?date_from={day}&date_to={day}").content.decode()


def test_the_detail_of_an_unused_authentication_says_no_payment(anna, annas_card):
    record = records.not_confirmed(annas_card)

    page = anna.get(_detail(record)).content.decode()

    assert 'id="payment-none"' in page and 'id="payment-link"' not in page


def test_another_customers_authentication_is_404(anna, bartosz_card):
    theirs = records.answered(bartosz_card)

    assert anna.get(_detail(theirs)).status_code == 404
    assert theirs.merchant_name not in _text(anna.get(LIST))


def test_an_unknown_id_is_404(anna):
    assert (
        anna.get(reverse("secure3d:authentication_detail", args=["6f1c1a43-0000-4000-8000-000000000000"])).status_code
        == 404
    )
    assert anna.get("/3d-secure/authentications/not-a-uuid/").status_code == 404


def test_anonymous_visitors_go_to_the_login_page(client, annas_card):
    record = records.answered(annas_card)
    for url in (LIST, _detail(record)):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_are_refused(staff_client, annas_card):
    record = records.answered(annas_card)
    assert staff_client.get(LIST).status_code == 403
    assert staff_client.get(_detail(record)).status_code == 403


def test_the_pages_take_get_only(anna, annas_card):
    record = records.answered(annas_card)
    assert anna.post(LIST).status_code == 405
    assert anna.post(_detail(record)).status_code == 405
