"""Each 3-D Secure authentication in the holder's security history and the back office's trail, in words."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from kartosfera.acs.tests import records
from kartosfera.processing.tests.helpers import card_of
from kartosfera.testing.staff import staff_client

pytestmark = pytest.mark.django_db

SECURITY = reverse("users:security")


def _rows(response) -> list[str]:
    """The history table's events (label and detail) as text, newest first."""
    body = response.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    events = [row.split("<td")[2].split("</td>")[0] for row in body.split("</tr>")[:-1]]
    return [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", "<" + event))).strip() for event in events]


@pytest.fixture
def anna(client, cardholder):
    client.force_login(cardholder.user)
    return client


@pytest.fixture
def debit(cardholder, debit_product):
    return card_of(cardholder.customer, debit_product)


def test_each_authentication_reads_with_merchant_amount_and_result(anna, debit):
    records.answered(debit, merchantName="Kiosk Online", purchaseAmount="1250")
    records.confirmed(debit, merchantName="Sklep Internetowy", purchaseAmount="8999")
    records.not_confirmed(debit, reason="14", challenge_cancel="05", merchantName="Apteka Nocna")
    anna.cookies["django_language"] = "en"

    rows = _rows(anna.get(SECURITY, HTTP_ACCEPT_LANGUAGE="en"))

    threeds = [row for row in rows if "(3-D Secure)" in row or "3-D Secure PIN" in row]
    # Newest first; a challenge is two lines that do not repeat each other: "to be confirmed", then how it ended.
    assert threeds == [
        "Internet payment not confirmed (3-D Secure) Apteka Nocna, PLN 50.00 (timed out)",
        "Internet payment to be confirmed (3-D Secure) Apteka Nocna, PLN 50.00",
        "Internet payment confirmed with the 3-D Secure PIN and SMS code Sklep Internetowy, PLN 89.99",
        "Internet payment to be confirmed (3-D Secure) Sklep Internetowy, PLN 89.99",
        "Internet payment authenticated without confirmation (3-D Secure) Kiosk Online, PLN 12.50 (low-value payment)",
    ]


def test_the_amount_is_in_polish_format_on_a_polish_page(anna, debit):
    records.answered(debit, merchantName="Kiosk Online", purchaseAmount="123456", purchaseCurrency="978")

    rows = _rows(anna.get(SECURITY))

    assert any("Kiosk Online, 1 234,56 EUR" in row for row in rows)


def test_staff_read_the_same_words_in_the_customers_trail(staff, cardholder, debit):
    records.not_confirmed(debit, merchantName="Apteka Nocna", challenge_cancel="01")
    client = staff_client(staff["supervisor"])

    response = client.get(reverse("backoffice:customer_trail", args=[cardholder.customer.pk]))
    page = re.sub(r"\s+", " ", html.unescape(response.content.decode()))

    assert "Apteka Nocna, 50,00 zł" in page
    assert "acs." not in re.sub(r"<[^>]+>", " ", page)
