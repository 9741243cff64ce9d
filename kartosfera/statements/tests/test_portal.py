"""The holder's statements in the portal: the list, the page, the PDF and the CSV, for the account's owner only."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from kartosfera.cards.models import Funding, Segment
from kartosfera.core.money import Money
from kartosfera.statements.close import statement_correct
from kartosfera.statements.models import StatementDocument
from kartosfera.statements.tests.documents_helpers import STATEMENT_DATE, close, statement_of_a_busy_month
from kartosfera.statements.tests.helpers import pay_by_card, spend
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db
D = dt.date


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))).replace("\xa0", " ")


@pytest.fixture
def anna(client, cardholder):
    """A test client signed in as Anna, the cardholder."""
    client.force_login(cardholder.user)
    return client


@pytest.fixture
def annas(cardholder):
    """Anna's credit card and its first statement."""
    return statement_of_a_busy_month(customer=cardholder.customer)


def _urls(card_id: int, statement_id: int) -> dict[str, str]:
    return {
        "list": reverse("portal:statement_list", args=[card_id]),
        "page": reverse("portal:statement", args=[card_id, statement_id]),
        "pdf": reverse("portal:statement_pdf", args=[card_id, statement_id]),
        "csv": reverse("portal:statement_csv", args=[card_id, statement_id]),
    }


def test_the_card_page_links_the_statements_of_a_credit_card(anna, annas):
    cc, _statement = annas

    response = anna.get(reverse("portal:card_detail", args=[cc.card.pk]))

    assert 'id="statements-link"' in response.content.decode()
    assert reverse("portal:statement_list", args=[cc.card.pk]) in response.content.decode()


def test_the_list_shows_each_statement_with_what_to_pay_and_by_when(anna, annas):
    cc, statement = annas

    response = anna.get(reverse("portal:statement_list", args=[cc.card.pk]))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    text = _text(response)
    assert statement.number in text
    assert "05.10.2026" in text  # the due date, dd.mm.yyyy
    with translation.override("pl"):
        assert Money(statement.owed_minor, "PLN").format().replace("\xa0", " ") in text
    urls = _urls(cc.card.pk, statement.pk)
    for url in (urls["page"], urls["pdf"], urls["csv"]):
        assert f'href="{url}"' in response.content.decode()


def test_the_statement_page_shows_the_summary_and_every_line_in_accessible_tables(anna, annas):
    cc, statement = annas

    response = anna.get(_urls(cc.card.pk, statement.pk)["page"])

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert page.count("<h1") == 1
    assert '<th scope="row">' in page and '<th scope="col">' in page
    assert "<caption" in page
    text = _text(response)
    assert statement.number in text
    assert "Żabka Łódź-Bałuty" in text
    assert "-1 234,56 zł" in text
    assert "+50,00 zł" in text  # the repayment, a credit
    assert page.count('id="line-') == statement.lines.count()
    assert 'id="summary-minimum_payment"' in page


def test_the_pdf_download_is_the_stored_document_with_its_sha256(anna, annas):
    cc, statement = annas
    url = _urls(cc.card.pk, statement.pk)["pdf"]

    first = anna.get(url)
    second = anna.get(url)

    assert first.status_code == 200
    assert first["Content-Type"] == "application/pdf"
    assert first["Content-Disposition"].startswith("attachment;")
    assert re.fullmatch(r'attachment; filename="[A-Za-z]+-[A-Za-z0-9-]+\.pdf"', first["Content-Disposition"])
    assert "no-store" in first["Cache-Control"]
    document = StatementDocument.objects.get(statement=statement)
    assert first.content == second.content == bytes(document.content)
    assert first["ETag"] == f'"{hashlib.sha256(first.content).hexdigest()}"' == f'"{document.sha256}"'
    assert first["Repr-Digest"].startswith("sha-256=:")
    assert document.language == "pl"


def test_the_csv_download_is_an_attachment_for_a_spreadsheet(anna, annas):
    cc, statement = annas

    response = anna.get(_urls(cc.card.pk, statement.pk)["csv"])

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="[A-Za-z]+-[A-Za-z0-9-]+\.csv"', response["Content-Disposition"])
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert statement.number.encode() in response.content
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("name", ["list", "page", "pdf", "csv"])
def test_another_customer_gets_404_for_each_url(client, second_cardholder, annas, name):
    cc, statement = annas
    client.force_login(second_cardholder.user)

    assert client.get(_urls(cc.card.pk, statement.pk)[name]).status_code == 404
    assert not StatementDocument.objects.exists()


@pytest.mark.parametrize("name", ["page", "pdf", "csv"])
def test_a_statement_of_another_account_is_404_through_ones_own_card(client, second_cardholder, annas, name):
    """Bartosz's own credit card does not reach Anna's statement by its id."""
    _cc, statement = annas
    bartosz, _his = statement_of_a_busy_month(customer=second_cardholder.customer)
    client.force_login(second_cardholder.user)

    assert client.get(_urls(bartosz.card.pk, statement.pk)[name]).status_code == 404


@pytest.mark.parametrize("name", ["list", "page", "pdf", "csv"])
def test_an_additional_cards_holder_does_not_see_the_accounts_statements(client, business_user, annas, name):
    """The statement states the account owner's debt: the holder of another card on the account does not owe it."""
    cc, statement = annas
    # A business card: the one kind whose account's owner may give a card to another person (an employee).
    business_credit = factories.product_factory(funding=Funding.CREDIT, segment=Segment.BUSINESS)
    additional = factories.card_factory(customer=business_user.customer, product=business_credit, account=cc.account)
    client.force_login(business_user.user)

    assert client.get(_urls(additional.pk, statement.pk)[name]).status_code == 404
    assert (
        'id="statements-link"' not in client.get(reverse("portal:card_detail", args=[additional.pk])).content.decode()
    )


def test_a_debit_card_has_no_statements(anna, cardholder, debit_product):
    card = factories.card_factory(customer=cardholder.customer, product=debit_product)
    assert card.product.funding == Funding.DEBIT

    assert anna.get(reverse("portal:statement_list", args=[card.pk])).status_code == 404
    assert 'id="statements-link"' not in anna.get(reverse("portal:card_detail", args=[card.pk])).content.decode()


@pytest.mark.parametrize("name", ["list", "page", "pdf", "csv"])
def test_anonymous_visitors_are_sent_to_sign_in(client, annas, name):
    cc, statement = annas

    response = client.get(_urls(cc.card.pk, statement.pk)[name])

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))


@pytest.mark.parametrize("name", ["list", "page", "pdf", "csv"])
def test_the_pages_take_no_post(anna, annas, name):
    cc, statement = annas
    assert anna.post(_urls(cc.card.pk, statement.pk)[name]).status_code == 405


def test_a_correction_names_the_statement_it_corrects_and_the_corrected_one_says_so(anna, annas):
    cc, statement = annas
    spend(cc, 1_00, D(2026, 9, 10))  # a posting of the period booked after the close
    correction = statement_correct(actor=factories.SYSTEM, statement=statement, reason="Brakująca opłata")

    listing = anna.get(reverse("portal:statement_list", args=[cc.card.pk])).content.decode()
    corrected = anna.get(_urls(cc.card.pk, statement.pk)["page"])
    correcting = anna.get(_urls(cc.card.pk, correction.pk)["page"])

    assert re.search(rf'id="statement-{statement.pk}".*?{re.escape(correction.number)}', listing, re.S)
    assert correction.number in _text(corrected)
    assert 'id="statement-corrected"' in corrected.content.decode()
    notice = re.search(r'id="statement-correction">(.*?)</p>', correcting.content.decode(), re.S)
    assert notice is not None
    assert statement.number in notice.group(1)
    assert "Brakująca opłata" in notice.group(1)
    # The correction's title names the corrected statement, not its own number.
    title = re.search(r"<h1>(.*?)</h1>", correcting.content.decode(), re.S)
    assert title is not None
    assert statement.number in title.group(1) and correction.number not in title.group(1)


def test_the_list_takes_the_same_queries_for_one_statement_or_many(anna, annas, django_assert_max_num_queries):
    cc, _statement = annas
    url = reverse("portal:statement_list", args=[cc.card.pk])
    with CaptureQueriesContext(connection) as one:
        assert anna.get(url).status_code == 200
    spend(cc, 5_000, D(2026, 9, 20))
    close(D(2026, 11, 10))
    assert cc.account.statements.count() == 3

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = anna.get(url)

    assert len(response.context["rows"]) == 3
    assert len(one.captured_queries) <= 6, [q["sql"] for q in one.captured_queries]


def test_the_statement_page_takes_a_fixed_number_of_queries(anna, annas, django_assert_max_num_queries):
    cc, statement = annas
    for day in range(12, 28):  # a busier second month: more lines, not more queries
        pay_by_card(cc, 1_000 + day, D(2026, 9, day), merchant=f"Sklep {day}")
    later = close(STATEMENT_DATE.replace(month=10))[-1]
    assert later.lines.count() > statement.lines.count()

    with CaptureQueriesContext(connection) as first:
        anna.get(_urls(cc.card.pk, statement.pk)["page"])
    with django_assert_max_num_queries(len(first.captured_queries)):
        anna.get(_urls(cc.card.pk, later.pk)["page"])
    assert len(first.captured_queries) <= 7, [q["sql"] for q in first.captured_queries]
