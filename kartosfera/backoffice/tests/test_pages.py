"""Finding customers, the customer page, the activity log, the demo's staff codes and the staff pages' headers."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kartosfera.backoffice.demo import DEMO_STAFF, DEMO_STAFF_PASSWORD, demo_staff_codes, demo_staff_load
from kartosfera.backoffice.models import StaffMember
from kartosfera.backoffice.roles import StaffRole
from kartosfera.backoffice.selectors import customer_search
from kartosfera.backoffice.services import customer_view_record
from kartosfera.backoffice.tests.helpers import (
    KNOWN_PAN,
    action_post_data,
    card_action_url,
    phone_verify,
)
from kartosfera.banks.scope import BankScope
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.models import Residency
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_client
from kartosfera.users.models import User

GROUP = BankScope.group()
pytestmark = pytest.mark.django_db

BO_HOME = reverse("backoffice:home")
ACTIVITY = reverse("backoffice:activity")
STAFF_CODES = reverse("backoffice_dev:staff_codes")


def _customer_url(customer) -> str:
    return reverse("backoffice:customer", args=[customer.pk])


# --- Search ---------------------------------------------------------------------------


def test_search_by_pesel(cardholder, second_cardholder):
    assert customer_search(query=cardholder.customer.pesel, scope=GROUP) == [cardholder.customer]


def test_search_by_bank_reference_in_any_case(cardholder, second_cardholder):
    assert customer_search(query=cardholder.customer.reference.lower(), scope=GROUP) == [cardholder.customer]


def test_search_by_nonresident_id(cardholder):
    foreigner = factories.customer_factory(
        residency=Residency.NON_RESIDENT, nonresident_id="UA778899", birth_date=dt.date(1990, 1, 1)
    )
    assert customer_search(query="ua778899", scope=GROUP) == [foreigner]


@pytest.mark.parametrize("query", ["wiśniewski", "Wiśniewski", "wiś", "bartosz wiśniewski", "BARTOSZ"])
def test_search_by_name_ignores_case_and_keeps_polish_letters(query, cardholder, second_cardholder):
    assert customer_search(query=query, scope=GROUP) == [second_cardholder.customer]


def test_search_by_name_needs_every_word(cardholder, second_cardholder):
    assert customer_search(query="anna wiśniewski", scope=GROUP) == []


def test_search_by_phone_in_different_formats(cardholder, second_cardholder):
    phone = cardholder.customer.phone_on_file
    local = phone.removeprefix("+48")
    for query in (phone, local, f"{local[:3]} {local[3:6]} {local[6:]}", f"+48 {local[:3]}-{local[3:6]}-{local[6:]}"):
        assert customer_search(query=query, scope=GROUP) == [cardholder.customer], query


def test_search_by_portal_phone(cardholder, second_cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(portal_phone="+48511222333")
    assert customer_search(query="511 222 333", scope=GROUP) == [cardholder.customer]


def test_search_by_card_last4(cardholder, second_cardholder, active_card):
    assert customer_search(query=active_card.pan_last4, scope=GROUP) == [cardholder.customer]


@pytest.mark.parametrize("query", ["", " ", "A", "7"])
def test_a_query_shorter_than_two_characters_finds_nothing(query, cardholder):
    assert customer_search(query=query, scope=GROUP) == []


def test_the_search_page_lists_results_without_full_numbers(staff, cardholder, active_card):
    response = staff_client(staff["agent"]).post(BO_HOME, {"q": active_card.pan_last4})

    page = response.content.decode()
    assert response.status_code == 200
    assert _customer_url(cardholder.customer) in page
    assert KNOWN_PAN not in page
    assert cardholder.customer.pesel not in page
    assert cardholder.customer.pesel[-4:] in page


# --- The customer page ----------------------------------------------------------------


def test_the_customer_page_shows_cards_by_last4_only_and_no_full_pesel(staff, cardholder, active_card):
    response = staff_client(staff["agent"]).get(_customer_url(cardholder.customer))

    page = response.content.decode()
    assert response.status_code == 200
    assert active_card.pan_last4 in page
    assert KNOWN_PAN not in page
    assert KNOWN_PAN[:6] + KNOWN_PAN[-4:] not in page
    assert cardholder.customer.pesel not in page


def test_opening_a_customer_is_audited(staff, cardholder):
    staff_client(staff["auditor"]).get(_customer_url(cardholder.customer))

    event = AuditEvent.objects.get(action="backoffice.customer.viewed")
    assert (event.actor_type, event.actor_id) == (ActorType.STAFF, str(staff["auditor"].user.pk))
    assert event.customer_id == cardholder.customer.pk


def test_the_customer_page_reads_in_a_fixed_number_of_queries(staff, cardholder, second_cardholder, debit_product):
    """Five cards cost no more queries than one (no query per card)."""
    client = staff_client(staff["supervisor"])
    factories.card_factory(customer=cardholder.customer, product=debit_product)
    for _ in range(5):
        factories.card_factory(customer=second_cardholder.customer, product=debit_product)
    client.get(_customer_url(cardholder.customer))  # warm-up: session, content types

    with CaptureQueriesContext(connection) as one_card:
        assert client.get(_customer_url(cardholder.customer)).status_code == 200
    with CaptureQueriesContext(connection) as five_cards:
        assert client.get(_customer_url(second_cardholder.customer)).status_code == 200

    assert len(five_cards) == len(one_card), [q["sql"] for q in five_cards.captured_queries]


def test_the_customer_page_query_budget(staff, cardholder, card, django_assert_max_num_queries):
    client = staff_client(staff["agent"])
    with django_assert_max_num_queries(25):
        client.get(_customer_url(cardholder.customer))


# --- The activity log -----------------------------------------------------------------


def _events(response) -> list[AuditEvent]:
    return list(response.context["page"].object_list)


def test_the_activity_page_shows_staff_actions_without_full_numbers(staff, cardholder, active_card):
    phone_verify(staff["agent"], cardholder.customer)
    staff_client(staff["agent"]).post(
        card_action_url(active_card, "card_block"), action_post_data("card_block", active_card)
    )

    response = staff_client(staff["auditor"]).get(ACTIVITY)

    assert response.status_code == 200
    actions = [e.action for e in _events(response)]
    assert "backoffice.card_block" in actions
    assert "backoffice.caller.verified" in actions
    assert all(a.startswith("backoffice.") for a in actions)
    page = response.content.decode()
    assert KNOWN_PAN not in page
    assert cardholder.customer.pesel not in page


def test_the_activity_page_filters_by_staff_member_and_action(staff, cardholder):
    phone_verify(staff["agent"], cardholder.customer)
    customer_view_record(staff=staff["branch"].user, customer=cardholder.customer)
    client = staff_client(staff["supervisor"])

    by_agent = _events(client.get(ACTIVITY, {"staff": staff["agent"].user.pk}))
    assert [e.action for e in by_agent] == ["backoffice.caller.verified"]
    by_action = _events(client.get(ACTIVITY, {"action": "backoffice.customer.viewed"}))
    assert [e.actor_id for e in by_action] == [str(staff["branch"].user.pk)]


def test_the_activity_page_filters_by_dates(staff, cardholder):
    customer = cardholder.customer
    for day in (dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)):
        with time_machine.travel(day, tick=False):
            customer_view_record(staff=staff["agent"].user, customer=customer)
    client = staff_client(staff["supervisor"])

    response = client.get(ACTIVITY, {"date_from": "2026-03-02", "date_to": "2026-03-05"})

    assert [e.occurred_at.date() for e in _events(response)] == [dt.date(2026, 3, 5)]
    assert len(_events(client.get(ACTIVITY, {"date_to": "2026-03-01"}))) == 1


def test_the_activity_page_paginates(staff, cardholder):
    for _ in range(51):
        customer_view_record(staff=staff["agent"].user, customer=cardholder.customer)
    client = staff_client(staff["supervisor"])

    first = client.get(ACTIVITY, {"action": "backoffice.customer.viewed"})
    second = client.get(ACTIVITY, {"action": "backoffice.customer.viewed", "page": 2})

    assert len(_events(first)) == 50
    assert len(_events(second)) == 1
    assert first.context["page"].paginator.count == 51
    assert "page=2" in first.content.decode()


def test_invalid_activity_dates_are_a_form_error_not_a_crash(staff):
    client = staff_client(staff["supervisor"])

    response = client.get(ACTIVITY, {"date_from": "2026-03-05", "date_to": "2026-03-01"})

    assert response.status_code == 200
    assert "date_to" in response.context["form"].errors
    assert client.get(ACTIVITY, {"date_from": "not-a-date", "page": "x"}).status_code == 200


# --- The demo's staff -------------------------------------------------------------------


def test_the_staff_codes_page_is_404_without_debug(db):
    demo_staff_load()
    response = Client().get(STAFF_CODES)
    assert response.status_code == 404


def test_the_staff_codes_page_shows_the_codes_in_debug(client, settings):
    settings.DEBUG = True
    demo_staff_load()
    with time_machine.travel(timezone.now(), tick=False):
        codes = demo_staff_codes()
        response = client.get(STAFF_CODES)

    assert response.status_code == 200
    assert len(codes) == len(DEMO_STAFF) == 4
    page = response.content.decode()
    for row in codes:
        assert row.username in page
        assert row.code in page
    assert "no-store" in response["Cache-Control"]


def test_the_demo_staff_codes_command_refuses_without_debug(db):
    demo_staff_load()
    with pytest.raises(CommandError):
        call_command("demo_staff_codes", stdout=io.StringIO())


def test_load_demo_bank_creates_one_staff_member_per_role_once(db):
    out = io.StringIO()
    call_command("load_demo_bank", stdout=out)

    members = StaffMember.objects.select_related("user")
    assert sorted(m.role for m in members) == sorted(StaffRole.values)
    printed = out.getvalue()
    assert DEMO_STAFF_PASSWORD in printed
    for member in members:
        assert member.user.username in printed

    again = io.StringIO()
    call_command("load_demo_bank", stdout=again)
    assert StaffMember.objects.count() == 4
    assert "demo staff users created" not in again.getvalue()


# --- Headers ----------------------------------------------------------------------------


def test_every_staff_page_is_never_cached(client, staff, cardholder, active_card):
    assert "no-store" in client.get(reverse("backoffice:login"))["Cache-Control"]
    person = staff["supervisor"]
    client.post(reverse("backoffice:login"), {"username": person.username, "password": person.password})
    assert "no-store" in client.get(reverse("backoffice:login_code"))["Cache-Control"]

    signed_in = staff_client(person)
    responses = [
        signed_in.get(BO_HOME),
        signed_in.post(BO_HOME, {"q": "Nowak"}),
        signed_in.get(_customer_url(cardholder.customer)),
        signed_in.get(ACTIVITY),
        signed_in.post(reverse("backoffice:verify", args=[cardholder.customer.pk]), {"channel": "phone"}),
        signed_in.post(card_action_url(active_card, "card_block"), action_post_data("card_block", active_card)),
    ]
    for response in responses:
        assert response.status_code in {200, 400}
        assert "no-store" in response["Cache-Control"], response.request["PATH_INFO"]


def test_the_search_is_posted_so_that_what_staff_type_never_lands_in_a_url(staff, cardholder):
    """A PESEL or a name in a query string would stay in access logs and the browser's history [ASVS 5.0 14.2.1]."""
    client = staff_client(staff["agent"])
    page = client.get(BO_HOME).content.decode()
    assert re.search(r'<form[^>]*method="post"[^>]*role="search"', page)

    from_url = client.get(BO_HOME, {"q": cardholder.customer.pesel})
    posted = client.post(BO_HOME, {"q": cardholder.customer.pesel})

    assert from_url.status_code == 200 and from_url.context["results"] is None
    assert posted.context["results"] == [cardholder.customer]


def test_search_results_say_registered_not_date_of_registration(staff, cardholder, stranger):
    """Issue 9 point 7: the portal column says "zarejestrowany", not "data rejestracji"."""
    User.objects.filter(customer=stranger.customer).delete()
    response = staff_client(staff["agent"]).post(BO_HOME, {"q": cardholder.customer.last_name})
    other = staff_client(staff["agent"]).post(BO_HOME, {"q": stranger.customer.last_name})

    assert ">zarejestrowany<" in response.content.decode()
    assert ">niezarejestrowany<" in other.content.decode()
    for page in (response.content.decode(), other.content.decode()):
        assert "data rejestracji" not in page
