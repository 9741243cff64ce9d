"""The back office's view of a customer's statements: the same documents as the holder's, inside the bank scope,
and the supervisor's correction of the latest statement (docs/statements.md, "The back office")."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kartosfera.backoffice.roles import StaffRole
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.services import customer_create
from kartosfera.statements.models import Statement, StatementDocument
from kartosfera.statements.tests.documents_helpers import STATEMENT_DATE, close, statement_of_a_busy_month
from kartosfera.statements.tests.helpers import credit_card, spend
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_client, staff_person_create

pytestmark = pytest.mark.django_db
D = dt.date
ROLES = [str(role) for role in StaffRole]


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))).replace("\xa0", " ")


def _urls(statement: Statement) -> dict[str, str]:
    args = [statement.customer_id, statement.pk]
    return {
        "page": reverse("backoffice:statement", args=args),
        "pdf": reverse("backoffice:statement_pdf", args=args),
        "csv": reverse("backoffice:statement_csv", args=args),
    }


def _correct(client, statement: Statement, reason: str = "Brakujący zwrot od banku", confirm: bool = True):
    data = {"reason": reason, **({"confirm": "on"} if confirm else {})}
    return client.post(reverse("backoffice:statement_correct", args=[statement.customer_id, statement.pk]), data)


@pytest.fixture
def annas(cardholder):
    return statement_of_a_busy_month(customer=cardholder.customer)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_customers_statements_and_downloads_them(role, staff, cardholder, annas):
    _cc, statement = annas
    client = staff_client(staff[role])

    listing = client.get(reverse("backoffice:statements", args=[cardholder.customer.pk]))
    page = client.get(_urls(statement)["page"])
    pdf = client.get(_urls(statement)["pdf"])
    spreadsheet = client.get(_urls(statement)["csv"])

    assert listing.status_code == page.status_code == pdf.status_code == spreadsheet.status_code == 200
    assert statement.number in _text(listing)
    assert statement.number in _text(page)
    assert "-1 234,56 zł" in _text(page)
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content == bytes(StatementDocument.objects.get(statement=statement).content)
    assert spreadsheet.content.startswith(b"\xef\xbb\xbf")
    for response in (listing, page, pdf, spreadsheet):
        assert "no-store" in response["Cache-Control"]
    # Opening the statements is opening the customer's file [PCI DSS 10.2.1.1].
    looks = AuditEvent.objects.filter(action="backoffice.customer.viewed", customer_id=cardholder.customer.pk)
    assert looks.count() == 4


def test_the_staff_download_the_very_pdf_the_holder_downloaded(client, cardholder, staff, annas):
    cc, statement = annas
    client.force_login(cardholder.user)
    holders = client.get(reverse("portal:statement_pdf", args=[cc.card.pk, statement.pk]))

    staffs = staff_client(staff["agent"]).get(_urls(statement)["pdf"])

    assert staffs.content == holders.content
    assert staffs["ETag"] == holders["ETag"]
    assert StatementDocument.objects.filter(statement=statement).count() == 1


def test_the_customer_page_links_the_statements_of_a_credit_card_holder(staff, cardholder, annas):
    response = staff_client(staff["agent"]).get(reverse("backoffice:customer", args=[cardholder.customer.pk]))

    assert reverse("backoffice:statements", args=[cardholder.customer.pk]) in response.content.decode()


# --- the bank boundary ----------------------------------------------------------------------------


@pytest.fixture
def two_banks(cardholder):
    """Anna, a customer of two banks, with a credit card and a statement at each."""
    bank_a = factories.bank_factory()
    bank_b = factories.bank_factory("BANKB", short_name="BS Beta")
    customer = cardholder.customer
    customer_create(
        actor=factories.SYSTEM,
        bank=bank_b,
        reference="B-000456",
        residency=customer.residency,
        first_name=customer.first_name,
        last_name=customer.last_name,
        pesel=customer.pesel,
        phone_on_file=customer.phone_on_file,
    )
    _a, statement_a = statement_of_a_busy_month(customer=customer, bank=bank_a)
    _b, statement_b = statement_of_a_busy_month(customer=customer, bank=bank_b)
    return bank_a, bank_b, statement_a, statement_b


@pytest.mark.parametrize("role", ["branch", "supervisor", "auditor"])
def test_a_banks_staff_get_404_for_another_banks_statement_of_a_shared_customer(role, two_banks):
    bank_a, _bank_b, statement_a, statement_b = two_banks
    person = staff_person_create(role, username=f"{role}-a", bank=bank_a)
    client = staff_client(person)

    listing = client.get(reverse("backoffice:statements", args=[statement_a.customer_id]))
    assert [row.statement.pk for row in listing.context["rows"]] == [statement_a.pk]
    assert statement_b.number not in _text(listing)
    for name, url in _urls(statement_b).items():
        assert client.get(url).status_code == 404, name
        assert client.get(_urls(statement_a)[name]).status_code == 200, name
    refused = _correct(client, statement_b)
    assert refused.status_code == (404 if role == "supervisor" else 403)
    assert not StatementDocument.objects.filter(statement=statement_b).exists()
    assert not Statement.objects.filter(corrects=statement_b).exists()


def test_the_groups_staff_see_both_banks_statements(staff, two_banks):
    _bank_a, _bank_b, statement_a, statement_b = two_banks
    client = staff_client(staff["agent"])

    listing = client.get(reverse("backoffice:statements", args=[statement_a.customer_id]))

    assert {row.statement.pk for row in listing.context["rows"]} == {statement_a.pk, statement_b.pk}
    assert client.get(_urls(statement_b)["page"]).status_code == 200


def test_another_customers_statement_is_404_under_a_customers_address(staff, second_cardholder, annas):
    """A statement is reached through its customer: Anna's under Bartosz's address finds nothing."""
    _cc, statement = annas
    client = staff_client(staff["supervisor"])
    for name in ("page", "pdf", "csv"):
        url = _urls(statement)[name].replace(
            f"/customers/{statement.customer_id}/", f"/customers/{second_cardholder.customer.pk}/"
        )
        assert client.get(url).status_code == 404, name
    wrong = reverse("backoffice:statement_correct", args=[second_cardholder.customer.pk, statement.pk])
    assert client.post(wrong, {"reason": "x", "confirm": "on"}).status_code == 404
    assert not Statement.objects.filter(corrects=statement).exists()


# --- the correction ---------------------------------------------------------------------------------


def test_a_supervisor_corrects_the_latest_statement_and_both_sides_name_the_correction(
    client, staff, cardholder, annas
):
    cc, statement = annas
    spend(cc, 2_00, STATEMENT_DATE)  # a posting of the period booked after the close: the reason to correct
    supervisor = staff_client(staff["supervisor"])
    form_page = supervisor.get(_urls(statement)["page"])
    assert 'id="correct"' in form_page.content.decode()

    response = _correct(supervisor, statement)

    correction = Statement.objects.get(corrects=statement)
    assert response.status_code == 302
    assert response["Location"] == _urls(correction)["page"]
    assert correction.correction_reason == "Brakujący zwrot od banku"
    assert correction.closing_balance_minor == statement.closing_balance_minor - 2_00
    corrected = AuditEvent.objects.get(action="statements.statement.corrected")
    staff_row = AuditEvent.objects.get(action="backoffice.statement_corrected")
    for event in (corrected, staff_row):
        assert (event.actor_type, event.actor_id) == (ActorType.STAFF, str(staff["supervisor"].user.pk))
        assert event.object_id == str(correction.pk)
        assert (event.customer_id, event.bank_id) == (statement.customer_id, statement.bank_id)
    assert staff_row.after == {
        "reason": "Brakujący zwrot od banku",
        "number": correction.number,
        "corrects": statement.number,
    }
    # The staff see the correction naming the corrected statement, and the corrected one naming its correction.
    correcting = supervisor.get(response["Location"])
    assert statement.number in _text(correcting)
    assert 'id="statement-correction"' in correcting.content.decode()
    assert correction.number in _text(correcting)
    corrected_page = supervisor.get(_urls(statement)["page"]).content.decode()
    assert 'id="statement-corrected"' in corrected_page and correction.number in corrected_page
    assert 'id="correct"' not in corrected_page  # corrected already: no second correction of it
    # The holder sees the same.
    client.force_login(cardholder.user)
    holders = client.get(reverse("portal:statement", args=[cc.card.pk, correction.pk])).content.decode()
    assert 'id="statement-correction"' in holders and statement.number in holders


def test_only_the_latest_statement_offers_and_takes_a_correction(staff, annas):
    cc, first = annas
    spend(cc, 5_000, D(2026, 9, 20))
    second = close(D(2026, 10, 10))[-1]
    supervisor = staff_client(staff["supervisor"])

    assert 'id="correct"' not in supervisor.get(_urls(first)["page"]).content.decode()
    assert 'id="correct"' in supervisor.get(_urls(second)["page"]).content.decode()
    refused = _correct(supervisor, first)

    assert refused.status_code == 400
    assert not Statement.objects.filter(corrects=first).exists()
    refusal = AuditEvent.objects.get(action="backoffice.action_refused")
    assert refusal.after == {"action": "statement_correct", "refusal": "statement_not_correctable"}
    assert refusal.object_id == str(first.pk)


@pytest.mark.parametrize(
    ("reason", "confirm"),
    [("Brakujący zwrot", False), ("", True), ("   ", True), ("x" * 501, True), ("Karta 4000001234567899 zła", True)],
)
def test_a_correction_needs_a_reason_and_the_confirmation_and_writes_nothing_without_them(
    staff, annas, reason, confirm
):
    _cc, statement = annas
    supervisor = staff_client(staff["supervisor"])

    response = _correct(supervisor, statement, reason=reason, confirm=confirm)

    assert response.status_code == 400
    assert not Statement.objects.filter(corrects=statement).exists()
    assert not AuditEvent.objects.filter(
        action__in=["statements.statement.corrected", "backoffice.statement_corrected"]
    ).exists()
    assert "4000001234567899" not in response.content.decode()


@pytest.mark.parametrize("role", ["agent", "branch", "auditor"])
def test_other_roles_are_not_offered_the_correction_and_are_refused_it(role, staff, annas):
    _cc, statement = annas
    client = staff_client(staff[role])

    assert 'id="correct"' not in client.get(_urls(statement)["page"]).content.decode()
    assert _correct(client, statement).status_code == 403
    assert not Statement.objects.filter(corrects=statement).exists()


def test_the_correction_takes_post_only(staff, annas):
    _cc, statement = annas
    url = reverse("backoffice:statement_correct", args=[statement.customer_id, statement.pk])
    assert staff_client(staff["supervisor"]).get(url).status_code == 405


def test_a_cardholder_is_a_stranger_to_the_staff_statements(client, cardholder, annas):
    _cc, statement = annas
    client.force_login(cardholder.user)

    response = client.get(_urls(statement)["page"])

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("backoffice:login"))


# --- query budgets -----------------------------------------------------------------------------------


def test_the_staff_list_takes_the_same_queries_for_one_statement_or_many(
    staff, cardholder, django_assert_max_num_queries
):
    cc = credit_card(opened=D(2026, 9, 3), customer=cardholder.customer)
    spend(cc, 1_000, D(2026, 9, 4))
    close(D(2026, 9, 10))
    client = staff_client(staff["auditor"])
    url = reverse("backoffice:statements", args=[cardholder.customer.pk])
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    other = credit_card(opened=D(2026, 9, 3), customer=cardholder.customer)
    spend(other, 1_000, D(2026, 9, 4))
    close(D(2026, 11, 10))
    assert Statement.objects.filter(customer=cardholder.customer).count() == 6

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)

    assert len(response.context["rows"]) == 6
    assert len(one.captured_queries) <= 10, [q["sql"] for q in one.captured_queries]
