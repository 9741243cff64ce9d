"""Spending by category (docs/spending.md): the figures equal the transactions, who sees what, the page."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
import zoneinfo
from collections import defaultdict
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kartosfera.accounts.models import AccountKind
from kartosfera.cards.models import Brand, Card, Funding, Segment
from kartosfera.cards.operations_services import card_activate
from kartosfera.core.money import Money
from kartosfera.demo.identifiers import make_pan
from kartosfera.processing.categories import (
    CATEGORIES,
    MCC_CATEGORIES,
    OTHER,
    category_name,
    mcc_category,
    mcc_category_key,
)
from kartosfera.processing.clearing import ClearingRecord, RecordOutcome, clearing_post_record
from kartosfera.processing.ledger import Direction, bank_posting_record, repayment_record
from kartosfera.processing.models import Authorization, Posting
from kartosfera.processing.spending import (
    SpendingScope,
    months_offered,
    spending_account_visible,
    spending_by_category,
)
from kartosfera.processing.tests.helpers import PROCESSOR, CardFixture, card_of, decide
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
UTC = dt.UTC
# "Today" in these tests: the middle of February 2026, winter time in Warsaw (UTC+1).
TODAY = dt.datetime(2026, 2, 16, 12, 0, tzinfo=WARSAW)
FEBRUARY = dt.date(2026, 2, 1)
JANUARY = dt.date(2026, 1, 1)
_records = itertools.count(1)


@pytest.fixture(autouse=True)
def february():
    with time_machine.travel(TODAY, tick=False):
        yield


def _record(**values: Any) -> ClearingRecord:
    base: dict[str, Any] = {
        "record_id": f"spend-{next(_records):06d}",
        "kind": "clearing",
        "currency": "PLN",
        "processing_date": dt.date(2026, 2, 16),
    }
    base.update(values)
    return ClearingRecord(**base)


def pay(tc: CardFixture, amount: int, *, mcc: str, at: dt.datetime | None = None, settle: bool = True) -> Authorization:
    """A card payment approved at ``at`` (default: now) and, unless ``settle`` is False, settled in full."""
    with time_machine.travel(at or TODAY, tick=False):
        authorization = decide(tc, amount_minor=amount, mcc=mcc).authorization
    assert authorization.approved, authorization.decline_reason
    if settle:
        result = clearing_post_record(
            actor=PROCESSOR,
            record=_record(network_transaction_id=authorization.network_transaction_id, amount_minor=amount),
        )
        assert result.outcome == RecordOutcome.POSTED, result
    return authorization


def refund(tc: CardFixture, amount: int, *, mcc: str, at: dt.datetime | None = None) -> Posting:
    """The merchant's refund to the card (no authorization: found by the card's number), posted at ``at``."""
    with time_machine.travel(at or TODAY, tick=False):
        result = clearing_post_record(
            actor=PROCESSOR,
            record=_record(kind="refund", pan=tc.pan, expiry=tc.card.expiry, amount_minor=amount, mcc=mcc),
        )
    assert result.outcome == RecordOutcome.POSTED, result
    assert result.posting is not None
    return result.posting


def expected_from_postings(postings: Any) -> tuple[dict[str, int], int]:
    """The figures computed independently of the selector: each posting's amount by its kind, in Python."""
    per_category: dict[str, int] = defaultdict(int)
    for posting in postings:
        if posting.kind in ("clearing", "force_post"):
            per_category[mcc_category_key(posting.mcc)] += posting.billing_amount_minor
        elif posting.kind in ("refund", "chargeback", "clearing_reversal"):
            per_category[mcc_category_key(posting.mcc)] -= posting.billing_amount_minor
    figures = {key: amount for key, amount in per_category.items() if amount}
    return figures, sum(figures.values())


def figures(spending: Any) -> dict[str, int]:
    return {category.key: category.amount.minor for category in spending.categories}


@pytest.fixture
def debit(cardholder, debit_product) -> CardFixture:
    return card_of(cardholder.customer, debit_product, balance_minor=5_000_000)


@pytest.fixture
def business(cardholder) -> CardFixture:
    """Anna's business credit card, whose account may carry an additional card for another person."""
    product = factories.product_factory(
        code="VISA-BIZ-CREDIT", brand=Brand.VISA, funding=Funding.CREDIT, segment=Segment.BUSINESS
    )
    return card_of(cardholder.customer, product)


@pytest.fixture
def additional(business, business_user) -> CardFixture:
    """Dorota's card on Anna's business account: an employee's additional card."""
    pan = make_pan("400000", 777_001)
    card = factories.card_factory(
        customer=business_user.customer, product=business.card.product, account=business.card.account, pan=pan
    )
    return CardFixture(card=card_activate(actor=factories.SYSTEM, card=card), pan=pan)


def _spending(customer: Any, card: Card, month: dt.date = FEBRUARY, scope: str = SpendingScope.CARD) -> Any:
    card = Card.objects.select_related("account").get(pk=card.pk)
    return spending_by_category(customer=customer, card=card, month=month, scope=scope)


# --- The figures --------------------------------------------------------------------------------


def test_the_figures_equal_the_transactions(cardholder, debit):
    pay(debit, 12_345, mcc="5411")  # groceries
    pay(debit, 6_789, mcc="5499")  # groceries too
    pay(debit, 45_000, mcc="5541")  # fuel
    pay(debit, 20_000, mcc="6011")  # cash
    pay(debit, 3_150, mcc="5812")  # restaurants
    pay(debit, 999, mcc="1234")  # a code without a category

    spending = _spending(cardholder.customer, debit.card)

    expected, total = expected_from_postings(Posting.objects.filter(card=debit.card))
    assert figures(spending) == expected
    assert expected == {
        "groceries": 19_134,
        "fuel": 45_000,
        "cash": 20_000,
        "restaurants": 3_150,
        OTHER: 999,
    }
    assert spending.total == Money(total, "PLN") == Money(88_283, "PLN")
    # Largest first; the bar lengths are shares of the largest.
    assert [c.key for c in spending.categories] == ["fuel", "cash", "groceries", "restaurants", OTHER]
    assert spending.categories[0].share == 1.0
    assert spending.categories[1].share == pytest.approx(20_000 / 45_000)
    assert spending.currency == "PLN"


def test_refunds_subtract_from_their_category(cardholder, debit):
    pay(debit, 30_000, mcc="5651")  # clothing
    pay(debit, 10_000, mcc="5411")
    refund(debit, 12_500, mcc="5651")
    # A refund of last month's purchase, bigger than this month's payments in its category: a net credit.
    refund(debit, 4_000, mcc="5732")

    spending = _spending(cardholder.customer, debit.card)

    assert figures(spending) == {"clothing": 17_500, "groceries": 10_000, "electronics": -4_000}
    assert figures(spending) == expected_from_postings(Posting.objects.filter(card=debit.card))[0]
    assert spending.total.minor == 23_500
    assert spending.categories[-1].share == 0.0  # no bar for a net refund, the table says the figure


def test_a_refund_that_cancels_the_payment_leaves_no_category(cardholder, debit):
    pay(debit, 8_000, mcc="5945")
    refund(debit, 8_000, mcc="5945")

    spending = _spending(cardholder.customer, debit.card)

    assert spending.categories == [] and spending.total.minor == 0


def test_another_months_transactions_are_not_counted(cardholder, debit):
    pay(debit, 11_100, mcc="5411", at=dt.datetime(2026, 1, 20, 10, 0, tzinfo=WARSAW))
    refund(debit, 1_100, mcc="5411", at=dt.datetime(2026, 1, 25, 10, 0, tzinfo=WARSAW))
    pay(debit, 2_200, mcc="5411")

    assert figures(_spending(cardholder.customer, debit.card)) == {"groceries": 2_200}
    assert figures(_spending(cardholder.customer, debit.card, JANUARY)) == {"groceries": 10_000}
    assert figures(_spending(cardholder.customer, debit.card, dt.date(2025, 12, 1))) == {}


def test_the_month_ends_at_midnight_in_warsaw_not_in_utc(cardholder, debit):
    # 23:30 UTC on 31 January is 00:30 on 1 February in Warsaw (winter time, UTC+1).
    late = pay(debit, 7_000, mcc="5812", at=dt.datetime(2026, 1, 31, 23, 30, tzinfo=UTC))
    # 22:30 UTC the same evening is still 31 January in Warsaw.
    pay(debit, 3_000, mcc="5812", at=dt.datetime(2026, 1, 31, 22, 30, tzinfo=UTC))

    assert late.local_date == dt.date(2026, 2, 1)
    assert figures(_spending(cardholder.customer, debit.card)) == {"restaurants": 7_000}
    assert figures(_spending(cardholder.customer, debit.card, JANUARY)) == {"restaurants": 3_000}


def test_bank_postings_fees_and_repayments_are_not_spending(cardholder, business):
    pay(business, 5_000, mcc="5411")
    account = business.card.account
    bank_posting_record(
        actor=factories.SYSTEM,
        account=account,
        reference="TR-1",
        direction=Direction.DEBIT,
        amount_minor=100_000,
        currency="PLN",
        description="Przelew na własne konto",
    )
    bank_posting_record(
        actor=factories.SYSTEM,
        account=account,
        reference="TR-2",
        direction=Direction.CREDIT,
        amount_minor=50_000,
        currency="PLN",
    )
    repayment_record(actor=factories.SYSTEM, account=account, reference="REP-1", amount_minor=30_000, currency="PLN")

    for scope in SpendingScope.ALL:
        assert figures(_spending(cardholder.customer, business.card, scope=scope)) == {"groceries": 5_000}
    assert account.kind == AccountKind.CREDIT


def test_pending_payments_are_shown_apart_not_in_the_figures(cardholder, debit):
    pay(debit, 4_000, mcc="5411")
    pay(debit, 2_500, mcc="5411", settle=False)
    pay(debit, 1_500, mcc="5541", settle=False)
    pay(debit, 9_900, mcc="5541", settle=False, at=dt.datetime(2026, 1, 28, 12, 0, tzinfo=WARSAW))

    spending = _spending(cardholder.customer, debit.card)

    assert figures(spending) == {"groceries": 4_000}
    assert spending.pending == Money(4_000, "PLN") and spending.pending_count == 2


def test_an_account_in_another_currency_is_shown_in_its_currency(cardholder):
    product = factories.product_factory(code="VISA-EUR", brand=Brand.VISA, currency="EUR")
    eur = card_of(cardholder.customer, product, balance_minor=1_000_000)
    with time_machine.travel(TODAY, tick=False):
        authorization = decide(eur, amount_minor=2_000, currency="EUR", mcc="5812").authorization
    clearing_post_record(
        actor=PROCESSOR,
        record=_record(network_transaction_id=authorization.network_transaction_id, amount_minor=2_000, currency="EUR"),
    )

    spending = _spending(cardholder.customer, eur.card)

    assert spending.currency == "EUR" and spending.total == Money(2_000, "EUR")


# --- Who sees what ------------------------------------------------------------------------------


def test_the_whole_account_sums_every_card_of_it_for_its_owner(cardholder, business, additional, business_user):
    pay(business, 10_000, mcc="5411")
    pay(additional, 25_000, mcc="5541")
    pay(additional, 5_000, mcc="5411")

    whole = _spending(cardholder.customer, business.card, scope=SpendingScope.ACCOUNT)

    assert figures(whole) == {"fuel": 25_000, "groceries": 15_000}
    assert figures(whole) == expected_from_postings(Posting.objects.filter(account=business.card.account))[0]
    assert figures(_spending(cardholder.customer, business.card)) == {"groceries": 10_000}
    # Dorota, the additional card's holder, sees her own card's spending only.
    assert figures(_spending(business_user.customer, additional.card)) == {"fuel": 25_000, "groceries": 5_000}
    assert not spending_account_visible(customer=business_user.customer, card=additional.card)
    with pytest.raises(Http404):
        _spending(business_user.customer, additional.card, scope=SpendingScope.ACCOUNT)


def test_somebody_elses_card_is_a_404(second_cardholder, debit):
    with pytest.raises(Http404):
        _spending(second_cardholder.customer, debit.card)


# --- The categories -----------------------------------------------------------------------------


def test_every_coded_category_has_a_key_and_the_names_are_unchanged():
    for mcc, name in MCC_CATEGORIES.items():
        key = mcc_category_key(mcc)
        assert key in CATEGORIES and category_name(key) == str(name) == mcc_category(mcc)
    assert mcc_category_key("3010") == "travel" and mcc_category_key("3600") == "lodging"
    assert mcc_category_key("0001") == OTHER == mcc_category_key("")
    assert mcc_category("0001") == "Inne zakupy (MCC 0001)"  # the history's words stay as they were


def test_the_months_offered_are_the_current_and_the_twelve_before():
    months = months_offered()
    assert len(months) == 13 and months[0] == FEBRUARY and months[-1] == dt.date(2025, 2, 1)


# --- The page -----------------------------------------------------------------------------------


def _url(card: Card, **query: str) -> str:
    url = reverse("portal:card_spending", args=[card.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def anna(client, cardholder):
    client.force_login(cardholder.user)
    return client


def test_the_page_shows_the_chart_and_the_table_with_the_same_figures(anna, debit):
    pay(debit, 123_456, mcc="5411")
    pay(debit, 4_550, mcc="5812")

    response = anna.get(_url(debit.card))

    assert response.status_code == 200
    page = response.content.decode()
    chart = page[page.index("<svg") : page.index("</svg>")]
    table = page[page.index('<table class="spending-table"') : page.index("</table>")]
    assert 'role="img"' in chart and 'aria-labelledby="spending-chart-title spending-chart-desc"' in chart
    assert "style=" not in page and "<script>" not in page
    for figure in ("1\xa0234,56\xa0zł", "45,50\xa0zł"):
        assert figure in chart and figure in table
    assert "1\xa0280,06\xa0zł" in table  # the total row
    assert "<caption>" in table and 'scope="row"' in table and "<tfoot>" in table
    assert chart.index("Zakupy spożywcze") < chart.index("Restauracje")  # largest first
    # The link from the card's page.
    detail = anna.get(reverse("portal:card_detail", args=[debit.card.pk])).content.decode()
    assert f'href="{_url(debit.card)}"' in detail


def test_the_page_of_another_month(anna, debit):
    pay(debit, 1_000, mcc="5411", at=dt.datetime(2026, 1, 10, 12, 0, tzinfo=WARSAW))

    january = anna.get(_url(debit.card, month="2026-01")).content.decode()
    february = anna.get(_url(debit.card)).content.decode()

    assert "10,00\xa0zł" in january and 'id="spending-chart"' in january
    assert "10,00\xa0zł" not in february and 'id="spending-empty"' in february


def test_an_empty_month_says_so_without_a_chart(anna, debit):
    response = anna.get(_url(debit.card))

    assert response.status_code == 200
    assert "<svg" not in response.content.decode() and 'id="spending-empty"' in response.content.decode()


@pytest.mark.parametrize("month", ["2026-13", "abc", "2026-03", "2030-01", "2024-12", ""])
def test_a_bad_month_shows_the_current_month_with_a_message(anna, debit, month):
    pay(debit, 2_000, mcc="5411")

    response = anna.get(_url(debit.card, month=month))

    assert response.status_code == 200
    text = _text(response)
    assert "20,00 zł" in text  # the current month's
    if month:
        assert 'id="form-errors"' in response.content.decode()
    else:
        assert 'id="form-errors"' not in response.content.decode()


def test_a_bad_scope_shows_this_card_with_a_message(anna, debit):
    response = anna.get(_url(debit.card, scope="everything"))

    assert response.status_code == 200 and 'id="form-errors"' in response.content.decode()


def test_another_customers_card_is_a_404(client, second_cardholder, debit):
    client.force_login(second_cardholder.user)

    assert client.get(_url(debit.card)).status_code == 404
    assert client.get(_url(debit.card, scope="account")).status_code == 404


def test_an_additional_cards_holder_gets_no_whole_account(client, business_user, business, additional):
    pay(business, 10_000, mcc="5411")
    pay(additional, 3_000, mcc="5411")
    client.force_login(business_user.user)

    own = client.get(_url(additional.card))
    assert own.status_code == 200
    assert "30,00 zł" in _text(own) and "100,00 zł" not in _text(own)
    assert 'name="scope"' not in own.content.decode()
    assert client.get(_url(additional.card, scope="account")).status_code == 404


def test_the_owner_switches_to_the_whole_account(anna, business, additional):
    pay(business, 10_000, mcc="5411")
    pay(additional, 3_000, mcc="5411")

    page = anna.get(_url(business.card, scope="account")).content.decode()

    assert "130,00\xa0zł" in page and 'name="scope"' in page


def test_anonymous_visitors_are_sent_to_sign_in(client, debit):
    response = client.get(_url(debit.card))

    assert response.status_code == 302 and response["Location"].startswith(reverse("users:login"))


def test_a_post_is_refused(anna, debit):
    assert anna.post(_url(debit.card)).status_code == 405


def test_the_page_makes_the_same_number_of_queries_however_many_payments(anna, debit, django_assert_num_queries):
    pay(debit, 1_000, mcc="5411")
    with CaptureQueriesContext(connection) as few:
        anna.get(_url(debit.card))
    budget = len(few.captured_queries)
    # The user (the session comes from the cache), the card with its product and account, the month's postings per
    # code and its holds.
    assert budget == 4, [q["sql"] for q in few.captured_queries]
    for n, mcc in enumerate(["5411", "5541", "5812", "6011", "5651", "5732", "4111", "7011"] * 3):
        pay(debit, 1_000 + n, mcc=mcc)
    refund(debit, 500, mcc="5812")

    with django_assert_num_queries(budget):
        response = anna.get(_url(debit.card))
    assert response.status_code == 200


def test_the_spending_itself_takes_two_queries(cardholder, debit, django_assert_num_queries):
    for mcc in ["5411", "5541", "5812", "6011"] * 3:
        pay(debit, 1_000, mcc=mcc)
    card = Card.objects.select_related("account").get(pk=debit.card.pk)

    with django_assert_num_queries(2):
        spending_by_category(customer=cardholder.customer, card=card, month=FEBRUARY)


def test_the_page_names_the_pending_payments_apart(anna, debit):
    pay(debit, 4_000, mcc="5411")
    pay(debit, 2_550, mcc="5411", settle=False)

    page = anna.get(_url(debit.card)).content.decode()

    pending = page[page.index('id="spending-pending"') : page.index("</p>", page.index('id="spending-pending"'))]
    assert "25,50\xa0zł" in pending and ": 1," in pending
    table = page[page.index('<table class="spending-table"') : page.index("</table>")]
    assert "40,00\xa0zł" in table and "25,50" not in table and "65,50" not in table
