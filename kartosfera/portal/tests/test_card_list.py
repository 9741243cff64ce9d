from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kartosfera.cards.models import Card
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.testing import factories

LIST_URL = reverse("portal:card_list")


def test_home_leads_to_the_card_list(client, db):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == LIST_URL


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get(LIST_URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('users:login')}?next={LIST_URL}"


def test_card_list_shows_what_the_cardholder_needs_to_recognise_each_card(anna, card):
    html = anna.get(LIST_URL).content.decode()

    assert "<h1>Moje karty</h1>" in html
    assert "Visa Debit" in html
    assert f"</span>{card.pan_last4}</span>" in html
    assert "Karta debetowa, indywidualna" in html
    assert "ANNA NOWAK" in html
    assert f'<time datetime="{card.expiry:%Y-%m-%d}">{card.expiry:%m/%y}</time>' in html
    assert "Nieaktywowana" in html
    assert "Płatności zbliżeniowe" in html
    assert "Włączone" in html
    assert "Masz 1 kartę w portalu." in html


def test_card_list_shows_only_the_customers_own_cards(anna, cardholder, second_cardholder, debit_product):
    own = factories.card_factory(customer=cardholder.customer, product=debit_product)
    other = factories.card_factory(customer=second_cardholder.customer, product=debit_product)

    html = anna.get(LIST_URL).content.decode()

    assert reverse("portal:card_detail", args=[own.pk]) in html
    assert reverse("portal:card_detail", args=[other.pk]) not in html
    assert "BARTOSZ" not in html


def test_card_list_uses_polish_plurals(anna, cardholder, debit_product):
    for _ in range(5):
        factories.card_factory(customer=cardholder.customer, product=debit_product)

    assert "Masz 5 kart w portalu." in anna.get(LIST_URL).content.decode()


def test_card_list_shows_business_and_credit_types(anna, cardholder, credit_product, business_product):
    factories.card_factory(customer=cardholder.customer, product=credit_product)
    factories.card_factory(customer=cardholder.customer, product=business_product)

    html = anna.get(LIST_URL).content.decode()

    assert "Karta kredytowa, indywidualna" in html
    assert "Karta debetowa, firmowa" in html


def test_blocked_card_is_shown_as_temporarily_blocked(anna, card):
    card_transition(actor=factories.SYSTEM, card=card, to_status=CardStatus.ACTIVE, reason=StatusReason.ACTIVATED)
    card_transition(
        actor=factories.SYSTEM, card=card, to_status=CardStatus.BLOCKED, reason=StatusReason.BLOCKED_BY_CUSTOMER
    )

    assert "Czasowo zablokowana" in anna.get(LIST_URL).content.decode()


def test_card_past_its_expiry_is_shown_as_expired(anna, card):
    Card.objects.filter(pk=card.pk).update(expiry=timezone.localdate() - dt.timedelta(days=1))

    html = anna.get(LIST_URL).content.decode()

    assert "Wygasła" in html
    assert "badge--expired" in html


def test_cancelled_card_stays_cancelled_after_its_expiry(anna, card):
    card_transition(actor=factories.SYSTEM, card=card, to_status=CardStatus.CANCELLED, reason=StatusReason.LOST)
    Card.objects.filter(pk=card.pk).update(expiry=timezone.localdate() - dt.timedelta(days=40))

    html = anna.get(LIST_URL).content.decode()

    assert "Zastrzeżona" in html
    assert "Wygasła" not in html


def test_contactless_off_and_unavailable_are_told_apart(anna, cardholder):
    no_contactless = factories.product_factory(name="Visa Classic", contactless_capable=False)
    factories.card_factory(customer=cardholder.customer, product=no_contactless)
    switched_off = factories.card_factory(customer=cardholder.customer)
    Card.objects.filter(pk=switched_off.pk).update(contactless_enabled=False)

    html = anna.get(LIST_URL).content.decode()

    assert "Niedostępne w tej karcie" in html
    assert "Wyłączone" in html


def test_customer_without_cards_sees_a_friendly_empty_state(anna):
    html = anna.get(LIST_URL).content.decode()

    assert "Nie masz jeszcze kart" in html


def test_card_list_query_count_does_not_grow_with_the_number_of_cards(
    anna, cardholder, debit_product, credit_product, django_assert_max_num_queries
):
    factories.card_factory(customer=cardholder.customer, product=debit_product)
    with CaptureQueriesContext(connection) as one_card:
        assert anna.get(LIST_URL).status_code == 200

    for index in range(9):
        factories.card_factory(customer=cardholder.customer, product=credit_product if index % 2 else debit_product)
    with django_assert_max_num_queries(len(one_card)):
        response = anna.get(LIST_URL)

    assert response.content.decode().count('class="card-tile ') == 10


def test_card_list_has_a_small_fixed_query_budget(anna, card, django_assert_max_num_queries):
    # The user with the customer, the cards with product, account and bank; the session comes from the cache.
    with django_assert_max_num_queries(2):
        anna.get(LIST_URL)


def test_card_list_refuses_post(anna):
    assert anna.post(LIST_URL).status_code == 405


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_card_list_refuses_other_methods(anna, method):
    assert getattr(anna, method)(LIST_URL).status_code == 405
