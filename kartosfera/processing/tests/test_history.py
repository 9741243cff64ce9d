"""The card history: the portal's (with the holds and available funds) and the back office's (issue 10 §3)."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from kartosfera.cards.operations_services import card_contactless_set
from kartosfera.core.models import AuditEvent
from kartosfera.processing.adjustments import authorization_reverse
from kartosfera.processing.advices import advice_record
from kartosfera.processing.categories import mcc_category
from kartosfera.processing.clearing import ClearingRecord, RecordOutcome, clearing_post_record
from kartosfera.processing.models import Authorization, Channel, Posting
from kartosfera.processing.selectors import HISTORY_PAGE_SIZE
from kartosfera.processing.tests.helpers import PROCESSOR, CardFixture, card_of, decide, request_for
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_client

pytestmark = pytest.mark.django_db
_records = itertools.count(1)


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def anna(client, cardholder):
    client.force_login(cardholder.user)
    return client


@pytest.fixture
def debit(cardholder, debit_product) -> CardFixture:
    return card_of(cardholder.customer, debit_product, balance_minor=150_000)


@pytest.fixture
def credit(cardholder, credit_product) -> CardFixture:
    return card_of(cardholder.customer, credit_product)


@pytest.fixture
def bartosz_card(second_cardholder, debit_product) -> CardFixture:
    return card_of(second_cardholder.customer, debit_product)


@pytest.fixture
def mixed(debit) -> CardFixture:
    """Anna's card with an approved, a reversed and a declined (contactless off) payment."""
    decide(debit, amount_minor=123_456, merchant_name="Biedronka 1234")
    reversed_one = decide(debit, amount_minor=5_000, merchant_name="Orlen 77", mcc="5541").authorization
    authorization_reverse(actor=PROCESSOR, authorization_id=reversed_one.processor_id, reversal_id="rev-1")
    card_contactless_set(actor=factories.SYSTEM, card=debit.card, enabled=False)
    decide(debit, amount_minor=1_999, channel=Channel.POS_CONTACTLESS, merchant_name="Żabka 9")
    return debit


def _portal(card_fixture: CardFixture, **query: str) -> str:
    url = reverse("portal:card_history", args=[card_fixture.card.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _backoffice(card_fixture: CardFixture, **query: str) -> str:
    url = reverse("backoffice:card_history", args=[card_fixture.card.customer_id, card_fixture.card.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


# --- The portal ----------------------------------------------------------------------------------


def test_the_history_shows_each_payment_in_words_with_polish_amounts(anna, mixed):
    response = anna.get(_portal(mixed))

    assert response.status_code == 200
    page = _text(response)
    assert "Historia" in page
    assert "Biedronka 1234" in page and "Warszawa, Polska · Zakupy spożywcze" in page
    assert "1 234,56 zł" in page
    assert "Orlen 77" in page and "Paliwo" in page
    assert [row.status for row in response.context["rows"]] == ["declined", "reversed", "pending"]
    assert "Odrzucona" in page and "Anulowana" in page and "Oczekująca" in page
    assert "Zbliżeniowo w terminalu" in page and "Chip w terminalu" in page


def test_a_decline_says_why_in_plain_words_and_links_the_setting(anna, mixed):
    response = anna.get(_portal(mixed))

    page = response.content.decode()
    declined = response.context["rows"][0]
    assert declined.reason == "Płatności zbliżeniowe tą kartą są wyłączone."
    assert declined.setting_link.url == reverse("portal:card_detail", args=[mixed.card.pk]) + "#manage"
    assert "Płatności zbliżeniowe tą kartą są wyłączone." in html.unescape(page)
    assert f'href="/cards/{mixed.card.pk}/#manage">Włącz płatności zbliżeniowe</a>' in html.unescape(page)


def test_a_limit_decline_links_the_limits_form(anna, debit):
    decide(debit, amount_minor=10_000_000_00)  # far above the daily limit

    row = anna.get(_portal(debit)).context["rows"][0]

    assert row.status == "declined"
    assert row.setting_link.url == reverse("portal:card_limits", args=[debit.card.pk])


def test_an_internet_payment_soft_declined_for_3d_secure_links_its_settings(anna, debit):
    # Where the holder can spare the next one a confirmation: the low-value switch, the trusted merchants.
    decide(debit, channel=Channel.ECOMMERCE, amount_minor=2_000)

    response = anna.get(_portal(debit))

    row = response.context["rows"][0]
    assert (row.status, row.reason) == ("declined", "Płatność trzeba potwierdzić przez 3-D Secure.")
    assert row.setting_link.url == reverse("secure3d:index")
    assert f'href="{reverse("secure3d:index")}">Otwórz ustawienia 3-D Secure</a>' in html.unescape(
        response.content.decode()
    )


def test_a_tap_soft_declined_for_its_pin_says_why_without_a_setting(anna, debit):
    decide(debit, channel=Channel.POS_CONTACTLESS, amount_minor=10_001)  # above Poland's 100 PLN without a PIN

    row = anna.get(_portal(debit)).context["rows"][0]

    assert row.reason == (
        "Płatność zbliżeniowa powyżej kwoty dozwolonej bez PIN-u albo po kilku kolejnych płatnościach bez PIN-u "
        "wymaga podania PIN-u karty."
    )
    assert row.setting_link is None


def test_a_foreign_payment_shows_both_currencies(anna, debit):
    decide(debit, amount_minor=2_500, currency="USD", billing_amount_minor=10_123, billing_currency="PLN")

    page = _text(anna.get(_portal(debit)))

    assert "25,00 USD" in page and "101,23 zł na rachunku" in page


def test_a_partial_approval_shows_what_was_approved(anna, debit):
    decide(debit, amount_minor=200_000, partial_supported=True)

    row = anna.get(_portal(debit)).context["rows"][0]

    assert row.amount == "2\xa0000,00\xa0zł"
    assert row.partially_approved == "1\xa0500,00\xa0zł"


def test_english_too(anna, mixed):
    anna.cookies["django_language"] = "en"
    page = _text(anna.get(_portal(mixed), HTTP_ACCEPT_LANGUAGE="en"))

    assert "PLN 1,234.56" in page
    assert "Contactless payments are switched off for this card." in page
    assert "Groceries" in page
    assert "Warszawa, Poland · Groceries" in page


def test_a_merchants_country_is_named_in_the_readers_language_with_its_code_as_the_title(anna, debit):
    decide(debit, merchant_name="Rewe 12", merchant_city="Berlin", merchant_country="DE")
    decide(debit, merchant_name="Nowhere", merchant_city="", merchant_country="XX")

    polish = anna.get(_portal(debit))
    anna.cookies["django_language"] = "en"
    english = anna.get(_portal(debit))

    assert [(row.country, row.country_name) for row in polish.context["rows"]] == [("XX", "XX"), ("DE", "Niemcy")]
    assert "Berlin, Niemcy · Zakupy spożywcze" in _text(polish)
    assert '<span title="DE">Niemcy</span>' in polish.content.decode()
    assert "Berlin, Germany · Groceries" in _text(english)
    # A code no country has is shown as the scheme sent it.
    assert "XX · Groceries" in _text(english)


def test_the_holds_and_available_funds(anna, mixed):
    response = anna.get(_portal(mixed))
    page = _text(response)

    holds = response.context["holds"]
    assert [hold.merchant_name for hold, _ in holds] == ["Biedronka 1234"]
    assert "Blokady" in page
    # 1 500,00 zł on the account, 1 234,56 zł held: 265,44 zł available.
    assert "265,44 zł" in page and "1 234,56 zł" in page
    assert mixed.account.held_minor == 123_456


def test_a_credit_card_has_the_authorizations_list(anna, credit):
    decide(credit, amount_minor=4_000)

    page = _text(anna.get(_portal(credit)))

    assert "Lista autoryzacji" in page


def test_the_card_page_links_the_history_and_shows_the_holds_within_its_budget(
    anna, mixed, django_assert_max_num_queries
):
    # 5: the card page also lists the issuing bank's branches (one query, however many); 6: and the payments
    # the holder's own settings declined (kartosfera/notices/, one query).
    with django_assert_max_num_queries(6):
        response = anna.get(reverse("portal:card_detail", args=[mixed.card.pk]))

    page = response.content.decode()
    assert reverse("portal:card_history", args=[mixed.card.pk]) in page
    assert 'id="held-total"' in page and "Blokady 1 234,56 zł" in _text(response)


def test_filters_by_status_and_date(anna, mixed):
    declined = anna.get(_portal(mixed, status="declined")).context["rows"]
    assert [row.merchant for row in declined] == ["Żabka 9"]

    today = timezone.localdate()
    Authorization.objects.filter(merchant_name="Orlen 77").update(local_date=today - dt.timedelta(days=3))
    days = {"date_from": str(today - dt.timedelta(days=4)), "date_to": str(today - dt.timedelta(days=2))}
    window = anna.get(_portal(mixed, **days))
    assert [row.merchant for row in window.context["rows"]] == ["Orlen 77"]


def test_a_bad_filter_is_a_clear_message_not_a_500(anna, mixed):
    response = anna.get(_portal(mixed, date_from="2026-05-02", date_to="2026-05-01", status="nonsense"))

    assert response.status_code == 200
    assert "form-errors" in response.content.decode()
    assert len(response.context["rows"]) == 3


def test_pages(anna, debit):
    for n in range(HISTORY_PAGE_SIZE + 3):
        decide(debit, amount_minor=100 + n)

    first = anna.get(_portal(debit))
    second = anna.get(_portal(debit, page="2"))

    assert len(first.context["rows"]) == HISTORY_PAGE_SIZE
    assert len(second.context["rows"]) == 3
    assert "page=2" in first.content.decode()


@pytest.mark.parametrize("count", [1, 30])
def test_the_history_has_a_constant_query_budget(anna, debit, count, django_assert_num_queries):
    for n in range(count):
        cleared = decide(debit, amount_minor=100 + n).authorization
        _clear(cleared, 100 + n)
        decide(debit, amount_minor=100 + n)
        _post(debit, kind="refund", amount_minor=10 + n)
    # User, card (with product and account), the count, the page's keys, its authorizations, their clearings, its
    # postings, the holds; the session comes from the cache.
    with django_assert_num_queries(8):
        response = anna.get(_portal(debit))
    assert {row.status for row in response.context["rows"]} == {"pending", "settled", "refund"}


def test_another_customers_card_is_404(anna, bartosz_card):
    decide(bartosz_card)

    assert anna.get(_portal(bartosz_card)).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, debit):
    response = client.get(_portal(debit))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))


def test_the_history_refuses_post(anna, debit):
    assert anna.post(_portal(debit)).status_code == 405


def test_categories_in_words_with_a_fallback():
    assert mcc_category("6011") == "Wypłata gotówki"
    assert mcc_category("3512") == "Hotele i noclegi"
    assert mcc_category("9999") == "Inne zakupy (MCC 9999)"


# --- Clearing in the history: settled amounts, partially settled payments, postings of their own ----


def _clear(authorization: Authorization, amount: int, **values: Any) -> Posting:
    values.setdefault("record_id", f"clr-{next(_records)}")
    result = clearing_post_record(
        actor=PROCESSOR,
        record=ClearingRecord(
            kind="clearing",
            network_transaction_id=authorization.network_transaction_id,
            amount_minor=amount,
            currency=authorization.currency,
            processing_date=timezone.localdate(),
            **values,
        ),
    )
    assert result.outcome == RecordOutcome.POSTED, result
    return result.posting


def _post(card_fixture: CardFixture, **values: Any) -> Posting:
    values.setdefault("record_id", f"rec-{next(_records)}")
    values.setdefault("currency", "PLN")
    result = clearing_post_record(
        actor=PROCESSOR,
        record=ClearingRecord(
            pan=card_fixture.pan,
            expiry=card_fixture.card.expiry,
            processing_date=timezone.localdate(),
            **values,
        ),
    )
    assert result.outcome == RecordOutcome.POSTED, result
    return result.posting


def test_a_partially_settled_payment_reads_so_with_what_is_settled_and_still_held(anna, debit):
    order = decide(debit, amount_minor=30_000, merchant_name="Sklep wysyłkowy").authorization
    _clear(order, 12_000, final=False)

    response = anna.get(_portal(debit))

    row = response.context["rows"][0]
    assert (row.status, row.status_label) == ("partially_settled", "Częściowo rozliczona")
    assert row.settlement == "Rozliczono dotąd 120,00\xa0zł, nadal zablokowane 180,00\xa0zł"
    assert "Częściowo rozliczona" in _text(response)


def test_the_status_filter_has_partially_settled(anna, debit):
    order = decide(debit, amount_minor=30_000, merchant_name="Sklep wysyłkowy").authorization
    _clear(order, 12_000, final=False)
    decide(debit, amount_minor=1_000, merchant_name="Żabka")
    done = decide(debit, amount_minor=2_000, merchant_name="Biedronka").authorization
    _clear(done, 2_000)

    def merchants(status: str) -> list[str]:
        return [row.merchant for row in anna.get(_portal(debit, status=status)).context["rows"]]

    assert merchants("partially_settled") == ["Sklep wysyłkowy"]
    assert merchants("pending") == ["Żabka"]
    assert merchants("settled") == ["Biedronka"]
    assert 'value="partially_settled"' in anna.get(_portal(debit)).content.decode()


def test_a_payment_settled_for_another_amount_says_for_how_much(anna, debit):
    dinner = decide(debit, amount_minor=10_000, merchant_name="Pierogarnia", mcc="5812").authorization
    _clear(dinner, 11_500)  # with the tip
    same = decide(debit, amount_minor=4_000).authorization
    _clear(same, 4_000)

    rows = anna.get(_portal(debit)).context["rows"]

    assert rows[1].settlement == "Rozliczona na kwotę 115,00\xa0zł" and rows[1].status_label == "Rozliczona"
    assert rows[0].settlement == ""  # settled as authorized: nothing more to say


def test_postings_of_their_own_are_lines_in_words_with_credits_plus(anna, debit):
    paid = decide(debit, amount_minor=10_000, merchant_name="Allegro.pl").authorization
    original = _clear(paid, 10_000)
    day = formats.date_format(paid.local_date, "SHORT_DATE_FORMAT")
    _post(debit, kind="clearing", amount_minor=3_000, merchant_name="LOT pokład", mcc="4511", channel="pos_chip")
    _post(debit, kind="refund", network_transaction_id=paid.network_transaction_id, amount_minor=1_500)
    _post(debit, kind="chargeback", original_record_id=original.record_id, amount_minor=2_000)
    _post(debit, kind="clearing_reversal", original_record_id=original.record_id, amount_minor=1_000)

    response = anna.get(_portal(debit))

    rows = response.context["rows"]
    assert [row.status for row in rows] == ["clearing_reversal", "chargeback", "refund", "force_post", "settled"]
    reversal, chargeback, refund, force, payment = rows
    assert reversal.status_label == "Korekta obciążenia" and reversal.amount == "+10,00\xa0zł"
    assert reversal.note == f"Bank sklepu wycofał obciążenie za płatność z {day}."
    assert chargeback.status_label == "Zwrot po reklamacji" and chargeback.amount == "+20,00\xa0zł"
    assert chargeback.note == f"Reklamacja płatności z {day} została uznana."
    assert refund.status_label == "Zwrot" and refund.merchant == "Allegro.pl" and refund.amount == "+15,00\xa0zł"
    assert refund.note == f"Dotyczy płatności z {day}."
    assert force.status_label == "Płatność rozliczona bez autoryzacji" and force.amount == "30,00\xa0zł"
    assert force.note.startswith("Sklep zaksięgował tę płatność bez wcześniejszej zgody banku")
    assert force.channel == "Chip w terminalu"
    assert payment.authorization == paid
    page = _text(response)
    assert "Zwrot po reklamacji" in page and "+20,00 zł" in page
    assert 'id="posting-' in response.content.decode()
    # 100 - 30 + 15 + 20 + 10 = 1 500 - 65 zł on the account.
    assert debit.account.balance_minor == 150_000 - 10_000 - 3_000 + 1_500 + 2_000 + 1_000


def test_postings_in_english(anna, debit):
    original = _clear(decide(debit, amount_minor=10_000).authorization, 10_000)
    _post(debit, kind="chargeback", original_record_id=original.record_id, amount_minor=2_000)
    anna.cookies["django_language"] = "en"
    page = _text(anna.get(_portal(debit), HTTP_ACCEPT_LANGUAGE="en"))
    assert "Returned after a complaint" in page and "+PLN 20.00" in page
    assert "Your complaint about the payment of" in page


def test_postings_follow_the_filters(anna, debit):
    _post(debit, kind="refund", amount_minor=1_500, merchant_name="Zwrot A")
    decide(debit, amount_minor=1_000, merchant_name="Żabka")

    def merchants(**query: str) -> list[str]:
        return [row.merchant for row in anna.get(_portal(debit, **query)).context["rows"]]

    assert merchants() == ["Żabka", "Zwrot A"]
    assert merchants(status="settled") == ["Zwrot A"]  # a posting is a booked movement
    assert merchants(status="pending") == ["Żabka"]
    yesterday = str(timezone.localdate() - dt.timedelta(days=1))
    assert merchants(date_to=yesterday) == []


def test_another_customers_postings_never_show(anna, debit, bartosz_card):
    _post(bartosz_card, kind="refund", amount_minor=1_500, merchant_name="Cudzy zwrot")
    assert anna.get(_portal(debit)).context["rows"] == []
    assert anna.get(_portal(bartosz_card)).status_code == 404


# --- The back office -----------------------------------------------------------------------------


def test_staff_see_the_pipelines_detail(staff, mixed):
    response = staff_client(staff["agent"]).get(_backoffice(mixed))

    assert response.status_code == 200
    page = _text(response)
    declined = Authorization.objects.get(merchant_name="Żabka 9")
    assert f"Reguła {declined.decided_by}, kod odpowiedzi {declined.response_code}" in page
    assert f"{declined.decision_micros} µs" in page
    assert "Płatności zbliżeniowe tą kartą są wyłączone." in page
    assert "rev-1" in page  # the reversal
    assert "1 234,56 zł" in page
    # Staff see the country's name and the code the scheme sent.
    assert "Warszawa, Polska (PL) · Zakupy spożywcze" in page


@pytest.mark.parametrize("role", ["agent", "branch", "supervisor", "auditor"])
def test_every_role_that_reads_customers_may_open_it(staff, mixed, role):
    assert staff_client(staff[role]).get(_backoffice(mixed)).status_code == 200


def test_advices_to_review_by_a_filter(staff, debit):
    decide(debit, amount_minor=1_000)
    advice_record(
        actor=PROCESSOR,
        request=request_for(debit, amount_minor=999_999_99, merchant_name="Stand-in"),
        approved=True,
        response_code="00",
        authorization_code="ABC123",
    )

    response = staff_client(staff["agent"]).get(_backoffice(debit, needs_review="on"))

    assert [row.merchant for row in response.context["rows"]] == ["Stand-in"]
    assert "do weryfikacji" in _text(response)


def test_opening_is_audited_once_paging_is_not(staff, debit):
    for n in range(HISTORY_PAGE_SIZE + 1):
        decide(debit, amount_minor=100 + n)
    client = staff_client(staff["auditor"])
    views = AuditEvent.objects.filter(action="backoffice.customer.viewed", customer_id=debit.card.customer_id)

    client.get(_backoffice(debit))
    client.get(_backoffice(debit, page="2"))

    assert views.count() == 1


def test_backoffice_another_customers_card_is_404(staff, debit, bartosz_card):
    url = reverse("backoffice:card_history", args=[debit.card.customer_id, bartosz_card.card.pk])

    assert staff_client(staff["agent"]).get(url).status_code == 404


def test_backoffice_anonymous_and_cardholder_are_refused(client, anna, debit):
    # A cardholder's portal session is not a staff session: both are sent to the staff sign-in.
    for response in (Client().get(_backoffice(debit)), anna.get(_backoffice(debit))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("backoffice:login"))


def test_backoffice_refuses_post(staff, debit):
    assert staff_client(staff["agent"]).post(_backoffice(debit)).status_code == 405


def test_backoffice_constant_query_budget(staff, debit):
    client = staff_client(staff["agent"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(_backoffice(debit, page="1")).status_code == 200
        return len(captured)

    _clear(decide(debit, amount_minor=100).authorization, 100)
    _post(debit, kind="refund", amount_minor=10)
    one = queries()
    for n in range(29):
        reversed_one = decide(debit, amount_minor=200 + n).authorization
        if n % 3 == 0:
            authorization_reverse(actor=PROCESSOR, authorization_id=reversed_one.processor_id, reversal_id=f"r{n}")
        elif n % 3 == 1:
            _clear(reversed_one, 150 + n)
        else:
            _post(debit, kind="refund", amount_minor=10 + n)

    assert queries() == one <= 14


def test_staff_see_the_clearing_records_and_what_needs_review(staff, debit):
    over = decide(debit, amount_minor=10_000, merchant_name="Sklep A").authorization
    flagged = _clear(over, 12_000, record_id="clr-over", acquirer_reference_number="74000000000000000000042")
    decide(debit, amount_minor=500, merchant_name="Sklep B")
    refund = _post(debit, kind="refund", amount_minor=700, record_id="ref-1")
    client = staff_client(staff["agent"])

    page = _text(client.get(_backoffice(debit)))
    assert "clr-over" in page and "ARN 74000000000000000000042" in page
    assert "do weryfikacji: rozliczona powyżej autoryzowanej kwoty ponad tolerancję" in page
    assert "ref-1" in page and "Rekord rozliczeniowy" in page

    review = client.get(_backoffice(debit, needs_review="on")).context["rows"]
    assert [row.authorization for row in review] == [over]
    assert flagged.needs_review and not refund.needs_review


def test_the_customer_file_links_each_cards_history(staff, debit):
    page = staff_client(staff["agent"]).get(reverse("backoffice:customer", args=[debit.card.customer_id]))

    assert _backoffice(debit) in page.content.decode()
