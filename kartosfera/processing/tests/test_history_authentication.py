"""The card history links an internet payment to its 3-D Secure authentication (issue 12, "What people see")."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from kartosfera.acs.tests import records
from kartosfera.processing.tests.helpers import CardFixture, card_of, decide
from kartosfera.testing.staff import staff_client

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def anna(client, cardholder) -> Client:
    client.force_login(cardholder.user)
    return client


@pytest.fixture
def debit(cardholder, debit_product) -> CardFixture:
    return card_of(cardholder.customer, debit_product, balance_minor=500_000)


def _portal(tc: CardFixture) -> str:
    return reverse("portal:card_history", args=[tc.card.pk])


def test_a_payment_links_its_authentication_and_says_how_it_was_authenticated(anna, debit):
    confirmed = records.confirmed(debit, merchantName="Sklep Internetowy")
    payment = records.paid(debit, confirmed)
    exempt = records.answered(debit, merchantName="Kiosk Online", purchaseAmount="1500")
    exempt_payment = records.paid(debit, exempt)
    decide(debit, amount_minor=2_000, merchant_name="Biedronka 1234")  # at a terminal: no 3-D Secure
    anna.cookies["django_language"] = "en"

    response = anna.get(_portal(debit), HTTP_ACCEPT_LANGUAGE="en")

    rows = {row.merchant: row for row in response.context["rows"]}
    assert rows["Sklep Internetowy"].authentication == confirmed
    assert rows["Biedronka 1234"].authentication is None
    page = response.content.decode()
    for record, line in ((confirmed, payment), (exempt, exempt_payment)):
        detail = reverse("secure3d:authentication_detail", args=[record.acs_trans_id])
        line_html = page.split(f'id="authorization-{line.pk}"')[1].split("</tr>")[0]
        assert f'<a href="{detail}">3-D Secure</a>' in line_html
    text = _text(response).replace(" : ", ": ")
    assert "3-D Secure: Confirmed with the 3-D Secure PIN and SMS code" in text
    assert "3-D Secure: Without confirmation: low-value payment" in text
    assert text.count("3-D Secure:") == 2


@pytest.mark.parametrize("count", [1, 12])
def test_the_links_cost_the_history_no_query(anna, debit, count, django_assert_num_queries):
    for n in range(count):
        # A challenge now and then: low-value Ys alone would reach the PSD2 count of 5 in a row.
        authenticated = records.confirmed if n % 5 == 0 else records.answered
        records.paid(debit, authenticated(debit, purchaseAmount=str(100 + n)))
    # User, card, the count, the page's keys, its authorizations (their authentications joined), their clearings,
    # the holds (no postings of their own here): as without any authentication; the session comes from the cache.
    with django_assert_num_queries(7):
        response = anna.get(_portal(debit))
    assert sum(row.authentication is not None for row in response.context["rows"]) == count


def test_the_back_office_history_links_its_own_authentication_page(staff, cardholder, debit):
    record = records.confirmed(debit)
    payment = records.paid(debit, record)
    client = staff_client(staff["supervisor"])

    url = reverse("backoffice:card_history", args=[cardholder.customer.pk, debit.card.pk])
    page = client.get(url).content.decode()

    line_html = page.split(f'id="authorization-{payment.pk}"')[1].split("</tr>")[0]
    detail = reverse("backoffice:authentication", args=[cardholder.customer.pk, record.acs_trans_id])
    assert f'<a href="{detail}">3-D Secure</a>' in line_html
    with translation.override("pl"):
        assert reverse("secure3d:authentication_detail", args=[record.acs_trans_id]) not in page
