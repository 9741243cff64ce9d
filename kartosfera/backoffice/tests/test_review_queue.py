"""The back office's queue of card payments flagged for review: who may see it, who may review, and how."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kartosfera.backoffice.roles import StaffPermission, StaffRole, role_allows
from kartosfera.core.models import AuditEvent
from kartosfera.processing.advices import advice_record
from kartosfera.processing.models import Authorization, AuthorizationReview
from kartosfera.processing.reviews import authorization_review_mark
from kartosfera.processing.tests.helpers import PROCESSOR, card_of, decide, request_for
from kartosfera.testing.staff import staff_client

pytestmark = pytest.mark.django_db

QUEUE = reverse("backoffice:review_queue")
ROLES = [str(role) for role in StaffRole]


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def _review_url(authorization: Authorization) -> str:
    return reverse("backoffice:authorization_review", args=[authorization.pk])


def _post(client: Client, authorization: Authorization, note: str = "", next_url: str = QUEUE):
    return client.post(_review_url(authorization), {f"review-{authorization.pk}-note": note, "next": next_url})


@pytest.fixture
def annas(cardholder, debit_product):
    return card_of(cardholder.customer, debit_product, balance_minor=10_000)


@pytest.fixture
def bartosz(second_cardholder, debit_product):
    return card_of(second_cardholder.customer, debit_product, balance_minor=10_000)


def stand_in(tc, merchant_name: str = "Bankomat Euronet", **overrides) -> Authorization:
    """An ATM withdrawal the scheme approved in stand-in, past the account's funds."""
    values = {"amount_minor": 500_000, "channel": "atm", "mcc": "6011", "merchant_name": merchant_name, **overrides}
    request = request_for(tc, **values)
    return advice_record(actor=PROCESSOR, request=request, approved=True, response_code="00").authorization


@pytest.fixture
def supervisor(staff):
    return staff_client(staff["supervisor"])


# --- Who may see it and who may review ----------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_queue_is_for_the_roles_with_its_permission(role, staff, annas):
    stand_in(annas)

    response = staff_client(staff[role]).get(QUEUE)

    assert response.status_code == (200 if role_allows(role, StaffPermission.REVIEW_QUEUE_VIEW) else 403)
    assert (response.status_code == 200) is (role in {"supervisor", "auditor"})


@pytest.mark.parametrize("role", ROLES)
def test_reviewing_needs_its_permission(role, staff, annas):
    advice = stand_in(annas)

    response = _post(staff_client(staff[role]), advice, "Checked")

    allowed = role_allows(role, StaffPermission.AUTHORIZATION_REVIEW)
    assert allowed is (role == "supervisor")
    assert response.status_code == (302 if allowed else 403)
    assert AuthorizationReview.objects.filter(authorization=advice).exists() is allowed
    assert AuditEvent.objects.filter(action="backoffice.authorization_reviewed").exists() is allowed


def test_a_cardholder_and_anonymous_are_sent_to_the_staff_sign_in(client, cardholder, annas):
    advice = stand_in(annas)
    client.force_login(cardholder.user)

    for browser in (client, Client()):
        for response in (browser.get(QUEUE), _post(browser, advice, "x")):
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("backoffice:login"))
    assert not AuthorizationReview.objects.exists()


def test_the_auditor_sees_the_queue_but_no_form(staff, annas):
    stand_in(annas)

    page = staff_client(staff["auditor"]).get(QUEUE).content.decode()

    assert "Bankomat Euronet" in page
    assert "Oznacz jako sprawdzoną" not in page and 'method="post" action="/backoffice/reviews/' not in page


def test_the_menu_links_the_queue_for_those_who_may_see_it(staff):
    assert QUEUE in staff_client(staff["supervisor"]).get(reverse("backoffice:home")).content.decode()
    assert QUEUE not in staff_client(staff["agent"]).get(reverse("backoffice:home")).content.decode()


# --- What it shows ------------------------------------------------------------------------------


def test_the_queue_lists_every_customers_flagged_payments_newest_first_with_a_link_to_the_card(
    supervisor, annas, bartosz
):
    decide(annas)  # approved by the bank itself: not flagged
    first = stand_in(annas, merchant_name="Stand-in Anna", merchant_city="Berlin", merchant_country="DE")
    second = stand_in(bartosz, merchant_name="Stand-in Bartosz")

    response = supervisor.get(QUEUE)
    page = _text(response)

    assert [row.authorization.pk for row in response.context["rows"]] == [second.pk, first.pk]
    assert "2 płatności." in page
    assert "Stand-in Anna" in page and "Berlin, Niemcy (DE)" in page and "5 000,00 zł" in page
    assert "Zatwierdzona przez organizację płatniczą w trybie stand-in" in page
    assert annas.card.customer.full_name in page and f"*{annas.card.pan_last4}" in page
    history = reverse("backoffice:card_history", args=[annas.card.customer_id, annas.card.pk])
    assert f'href="{history}?needs_review=on#authorization-{first.pk}"' in response.content.decode()
    # Never a full card number.
    assert annas.pan not in response.content.decode() and bartosz.pan not in response.content.decode()


def test_a_card_the_bank_does_not_know_is_listed_without_a_link(supervisor, annas):
    stand_in(annas, pan="4000009999999995")

    page = _text(supervisor.get(QUEUE))

    assert "Karta *9995 nieznana bankowi" in page


def test_the_filter_shows_not_reviewed_by_default_then_reviewed_or_all(supervisor, staff, annas):
    reviewed = stand_in(annas, merchant_name="Reviewed one")
    stand_in(annas, merchant_name="Waiting one")
    authorization_review_mark(reviewer=staff["supervisor"].user, authorization=reviewed, note="Sprawdzone z klientem.")

    def merchants(**query: str) -> list[str]:
        return [row.history.merchant for row in supervisor.get(QUEUE, query).context["rows"]]

    assert merchants() == ["Waiting one"]
    assert merchants(state="reviewed") == ["Reviewed one"]
    assert merchants(state="all") == ["Waiting one", "Reviewed one"]
    assert merchants(state="nonsense") == ["Waiting one"]  # a wrong filter is the default, never a 500
    page = _text(supervisor.get(QUEUE, {"state": "reviewed"}))
    assert "Maria Kierownik" in page and "Sprawdzone z klientem." in page


def test_pages_of_twenty(supervisor, annas):
    for n in range(23):
        stand_in(annas, amount_minor=1_000 + n)

    first = supervisor.get(QUEUE)
    second = supervisor.get(QUEUE, {"page": "2"})

    assert len(first.context["rows"]) == 20 and len(second.context["rows"]) == 3
    assert "page=2" in first.content.decode()


def test_the_queue_takes_a_fixed_number_of_queries_however_many_rows(supervisor, staff, annas, bartosz):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert supervisor.get(QUEUE, {"state": "all"}).status_code == 200
        return len(captured)

    authorization_review_mark(reviewer=staff["supervisor"].user, authorization=stand_in(annas), note="ok")
    one = queries()
    for n in range(25):
        advice = stand_in(bartosz if n % 2 else annas, amount_minor=1_000 + n)
        if n % 3 == 0:
            authorization_review_mark(reviewer=staff["supervisor"].user, authorization=advice)

    # The staff member, their authenticator device, the count, the page (cards, holders, reviews); the session
    # comes from the cache (settings.SESSION_ENGINE).
    assert queries() == one == 4


def test_english_too(supervisor, annas):
    stand_in(annas, merchant_city="Berlin", merchant_country="DE")
    supervisor.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = _text(supervisor.get(QUEUE))

    assert "Card payments to review" in page and "Mark as reviewed" in page
    assert "Berlin, Germany (DE)" in page and "Approved by the card scheme in stand-in" in page


# --- Marking one reviewed -----------------------------------------------------------------------


def test_marking_reviewed_writes_the_review_and_both_audit_rows_then_returns_to_the_same_list(supervisor, staff, annas):
    advice = stand_in(annas)
    back = f"{QUEUE}?state=all&page=1"

    response = _post(supervisor, advice, "Bankomat potwierdził wypłatę.", back)

    assert response.status_code == 302 and response["Location"] == back
    review = AuthorizationReview.objects.get(authorization=advice)
    assert review.reviewed_by_id == staff["supervisor"].user.pk and review.note == "Bankomat potwierdził wypłatę."
    for action in ("processing.authorization.reviewed", "backoffice.authorization_reviewed"):
        event = AuditEvent.objects.get(action=action)
        assert event.customer_id == annas.card.customer_id and event.actor_id == str(staff["supervisor"].user.pk)
        assert event.after["note"] == "Bankomat potwierdził wypłatę."
    assert f"{advice.processor_id} jest oznaczona jako sprawdzona" in _text(supervisor.get(back))


def test_a_second_click_writes_nothing_and_says_who_reviewed_it(supervisor, annas):
    advice = stand_in(annas)
    _post(supervisor, advice, "Pierwszy raz")
    supervisor.get(QUEUE)  # the first message is shown

    again = _post(supervisor, advice, "Drugi raz")

    assert again.status_code == 302
    assert AuthorizationReview.objects.get().note == "Pierwszy raz"
    assert AuditEvent.objects.filter(action="backoffice.authorization_reviewed").count() == 1
    assert AuditEvent.objects.filter(action="processing.authorization.reviewed").count() == 1
    assert "została już sprawdzona przez Maria Kierownik" in _text(supervisor.get(QUEUE))


def test_the_note_is_optional(supervisor, annas):
    advice = stand_in(annas)

    assert _post(supervisor, advice).status_code == 302
    assert AuthorizationReview.objects.get().note == ""


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("x" * 501, "500"),
        ("numer 4111 1111 1111 1111", "Nie wpisuj numeru karty"),
        # Too long and holding a card number: the number is not echoed back either.
        ("numer 4111 1111 1111 1111 " + "x" * 500, "500"),
    ],
)
def test_a_bad_note_is_a_clear_message_in_the_row_and_nothing_is_written(supervisor, annas, note, message):
    advice = stand_in(annas)

    response = _post(supervisor, advice, note, f"{QUEUE}?state=all")

    assert response.status_code == 400
    page = response.content.decode()
    assert message in html.unescape(page) and "form-errors" in page
    # The refused form is the row's own, shown again in the list it came from.
    row = next(row for row in response.context["rows"] if row.authorization.pk == advice.pk)
    assert row.form.errors and response.context["form"].data.get("state") == "all"
    assert "4111 1111 1111 1111" not in page
    assert not AuthorizationReview.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["backoffice.authorization_reviewed"]).exists()


def test_a_payment_not_flagged_or_unknown_is_404(supervisor, annas):
    approved = decide(annas).authorization

    assert _post(supervisor, approved, "x").status_code == 404
    assert supervisor.post(reverse("backoffice:authorization_review", args=[999_999])).status_code == 404
    assert not AuthorizationReview.objects.exists()


def test_reviewing_refuses_get_and_the_queue_refuses_post(supervisor, annas):
    advice = stand_in(annas)

    assert supervisor.get(_review_url(advice)).status_code == 405
    assert supervisor.post(QUEUE).status_code == 405


def test_reviewing_needs_the_csrf_token(staff, annas):
    advice = stand_in(annas)
    client = staff_client(staff["supervisor"], Client(enforce_csrf_checks=True))

    response = _post(client, advice, "x")

    assert response.status_code == 403
    assert not AuthorizationReview.objects.exists()


def test_a_foreign_next_address_is_not_followed(supervisor, annas):
    advice = stand_in(annas)

    response = _post(supervisor, advice, "", "https://evil.example/backoffice/reviews/")

    assert response.status_code == 302 and response["Location"] == QUEUE


def test_the_cards_history_shows_who_reviewed_the_advice(supervisor, staff, annas):
    advice = stand_in(annas)
    waiting = _text(supervisor.get(reverse("backoffice:card_history", args=[annas.card.customer_id, annas.card.pk])))
    authorization_review_mark(reviewer=staff["supervisor"].user, authorization=advice, note="Wszystko w porządku.")

    reviewed = _text(supervisor.get(reverse("backoffice:card_history", args=[annas.card.customer_id, annas.card.pk])))

    assert "do weryfikacji" in waiting
    assert "sprawdzony przez Maria Kierownik" in reviewed and "Wszystko w porządku." in reviewed
