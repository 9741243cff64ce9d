"""Every trail in words: the back office's customer trail and activity, the cardholder's histories.

Issue 9, points 15 and 16: no raw codes or ids, past tense, the actor as a name
or a word; the customer's whole trail paged and filtered by kind.
"""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kartosfera.backoffice.tests.helpers import action_post_data, card_action_url, phone_verify
from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_contactless_set
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.models import AuditEvent
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_client

pytestmark = pytest.mark.django_db

ACTIVITY = reverse("backoffice:activity")
RAW = ("bad_credentials", ": locked", "cards.card.", "secure3d.", "backoffice.", "users.login", "Card updated")


@pytest.fixture
def anna(cardholder):
    """The cardholder, signed in to the portal in a client of her own."""
    client = Client()
    client.force_login(cardholder.user)
    return client


def _customer_url(customer) -> str:
    return reverse("backoffice:customer", args=[customer.pk])


def _trail_url(customer, **query) -> str:
    url = reverse("backoffice:customer_trail", args=[customer.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _record(action: str, customer, *, actor: Actor | None = None, obj=None, **after) -> None:
    with transaction.atomic():
        audit_record(actor=actor or Actor.anonymous(), action=action, obj=obj, customer_id=customer.pk, after=after)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _assert_no_raw_codes(page: str) -> None:
    """What people read (the text, not attribute values such as a filter's option values) has no codes."""
    visible = html.unescape(re.sub(r"<[^>]+>", " ", page))
    for raw in RAW:
        assert raw not in visible, raw


@pytest.fixture
def history(staff, cardholder, active_card):
    """What the issue saw: failed sign-ins, a staff block and counter reset, contactless off, a 3DS PIN."""
    customer = cardholder.customer
    _record("users.login.failed", customer, obj=cardholder.user, reason="bad_credentials", failed_in_a_row=1)
    _record("users.login.failed", customer, obj=cardholder.user, reason="locked", while_locked=True)
    card_contactless_set(actor=Actor.for_user(cardholder.user), card=active_card, enabled=False)
    _record("secure3d.pin.set", customer, actor=Actor.for_user(cardholder.user))
    Card.objects.filter(pk=active_card.pk).update(wrong_pin_count=3)
    phone_verify(staff["agent"], customer)
    agent = staff_client(staff["agent"])
    agent.post(card_action_url(active_card, "wrong_pin_reset"), action_post_data("wrong_pin_reset", active_card))
    agent.post(card_action_url(active_card, "card_block"), action_post_data("card_block", active_card))
    assert AuditEvent.objects.filter(action="backoffice.card_block").exists()
    return customer


def test_the_customer_trail_reads_in_words_past_tense_with_names(staff, history):
    page = _text(staff_client(staff["supervisor"]).get(_customer_url(history)))

    assert "Logowanie nie powiodło się: błędne hasło" in page
    assert "Logowanie nie powiodło się: prawidłowe hasło przy zablokowanym dostępie" in page
    assert "Wyłączono płatności zbliżeniowe" in page
    assert "Ustawiono PIN 3-D Secure" in page
    assert "Wyzerowano licznik błędnych PIN-ów" in page
    assert "Zablokowano kartę czasowo w zapleczu banku: Customer asked on the phone" in page
    assert "Ewa Konsultant" in page  # the staff member's full name, not the user name
    assert ">Klient<" in page and "Osoba niezalogowana" in page
    assert ">agent<" not in page
    _assert_no_raw_codes(page)


def test_the_activity_page_names_the_customer_and_the_staff_member(staff, history, cardholder):
    page = _text(staff_client(staff["auditor"]).get(ACTIVITY))

    assert "Zablokowano kartę czasowo w zapleczu banku" in page
    assert "Zweryfikowano osobę dzwoniącą" in page
    assert f">{cardholder.customer.full_name}</a>" in page
    assert f"klient {cardholder.customer.pk}" not in page
    assert "Ewa Konsultant" in page
    _assert_no_raw_codes(page)


def test_the_activity_filter_offers_past_tense_labels_from_the_registry(staff):
    page = _text(staff_client(staff["auditor"]).get(ACTIVITY))

    assert "Odblokowano dostęp do portalu w zapleczu banku" in page
    assert "Odblokuj dostęp do portalu" not in page  # the imperative is the button's, not the trail's


def test_the_cardholder_s_card_history_shows_only_their_events_in_words(anna, staff, history, active_card):
    page = _text(anna.get(reverse("portal:card_detail", args=[active_card.pk])))

    assert "Wyzerowano licznik błędnych PIN-ów" in page
    assert "Wyłączono płatności zbliżeniowe" in page
    assert "Zablokowano kartę czasowo" in page
    assert "w zapleczu banku" not in page  # the staff's own record is for staff only
    assert "Ewa Konsultant" not in page  # the cardholder sees "Bank", not who
    assert '<span class="note">(Bank)</span>' in page and '<span class="note">(Ty)</span>' in page
    _assert_no_raw_codes(page)


def test_the_cardholder_s_security_history_shows_the_3ds_pin_and_who(anna, history):
    page = _text(anna.get(reverse("users:security")))

    assert "Ustawiono PIN 3-D Secure" in page
    assert "Logowanie nie powiodło się" in page and "błędne hasło" in page
    assert ">Ty<" in page and "Osoba niezalogowana" in page
    assert "Otwarto kartotekę klienta" not in page
    _assert_no_raw_codes(page)


# --- Point 16: the whole trail, paged, by kind --------------------------------------------


@pytest.fixture
def long_trail(cardholder, debit_product):
    card = factories.card_factory(customer=cardholder.customer, product=debit_product)
    for _ in range(20):
        _record("users.login.failed", cardholder.customer, obj=cardholder.user, reason="bad_credentials")
    for enabled in [False, True] * 5:
        _record(
            "cards.card.contactless_enabled" if enabled else "cards.card.contactless_disabled",
            cardholder.customer,
            obj=card,
            contactless_enabled=enabled,
        )
    return cardholder.customer


def test_the_customer_page_links_to_the_whole_trail_and_shows_the_newest(staff, long_trail):
    response = staff_client(staff["agent"]).get(_customer_url(long_trail))

    assert _trail_url(long_trail) in response.content.decode()
    assert len(response.context["trail"]) == 10


def test_the_whole_trail_is_paged(staff, long_trail):
    client = staff_client(staff["agent"])

    first = client.get(_trail_url(long_trail))
    second = client.get(_trail_url(long_trail, page=2))

    assert first.status_code == second.status_code == 200
    total = AuditEvent.objects.filter(customer_id=long_trail.pk).count()
    assert total > 30
    assert len(first.context["rows"]) == 25
    assert len(second.context["rows"]) == total - 25
    assert {r.event.pk for r in first.context["rows"]}.isdisjoint({r.event.pk for r in second.context["rows"]})
    assert "page=2" in first.content.decode()


def test_the_whole_trail_filters_by_kind(staff, long_trail):
    client = staff_client(staff["agent"])

    cards = client.get(_trail_url(long_trail, kind="cards"))
    access = client.get(_trail_url(long_trail, kind="access"))

    assert [r.action for r in cards.context["rows"]] == [
        "cards.card.contactless_enabled",
        "cards.card.contactless_disabled",
    ] * 5 + ["cards.card.issued"]
    assert {r.action for r in access.context["rows"]} == {"users.login.failed"}
    assert cards.context["page"].paginator.count == 11
    assert "Rodzaj zdarzenia" in cards.content.decode()


def test_an_unknown_kind_is_a_clear_error_not_a_500(staff, long_trail):
    response = staff_client(staff["agent"]).get(_trail_url(long_trail, kind="nonsense"))

    assert response.status_code == 200
    assert "form-errors" in response.content.decode()


def test_opening_the_trail_is_audited_once_not_per_page(staff, long_trail):
    client = staff_client(staff["auditor"])
    client.get(_trail_url(long_trail))
    client.get(_trail_url(long_trail, page=2))

    assert AuditEvent.objects.filter(action="backoffice.customer.viewed", customer_id=long_trail.pk).count() == 1


def test_the_trail_needs_staff_and_a_real_customer(staff, anna, cardholder):
    assert staff_client(staff["agent"]).get(reverse("backoffice:customer_trail", args=[999_999])).status_code == 404
    assert anna.get(_trail_url(cardholder.customer)).status_code in {302, 403}
    assert staff_client(staff["agent"]).post(_trail_url(cardholder.customer)).status_code == 405


def test_the_trail_page_reads_in_a_fixed_number_of_queries(staff, cardholder, long_trail):
    client = staff_client(staff["agent"])
    phone_verify(staff["branch"], long_trail)
    phone_verify(staff["supervisor"], long_trail)
    client.get(_trail_url(long_trail, page=2))  # warm-up

    with CaptureQueriesContext(connection) as few:
        client.get(_trail_url(long_trail, kind="backoffice", page=1))
    with CaptureQueriesContext(connection) as many:
        client.get(_trail_url(long_trail, page=1))

    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
