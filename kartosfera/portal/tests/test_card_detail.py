from __future__ import annotations

import datetime as dt

import time_machine
from django.urls import reverse

from kartosfera.accounts.models import AccountKind
from kartosfera.banks.services import branch_create
from kartosfera.cards.operations_services import card_activate, card_contactless_set
from kartosfera.core.audit import Actor
from kartosfera.testing import factories

SYSTEM_ACTOR = Actor.system("tests")
WARSAW = dt.timezone(dt.timedelta(hours=1))


def _detail(card) -> str:
    return reverse("portal:card_detail", args=[card.pk])


def test_detail_shows_the_debit_account_and_limits_polish_style(anna, card):
    html = anna.get(_detail(card)).content.decode()

    assert "Dostępne środki" in html
    assert "5\xa0234,10\xa0zł" in html  # the factory's balance, 523 410 grosze
    assert "Limit gotówkowy" in html and "Limit bezgotówkowy" in html and "Limit internetowy" in html
    assert "2\xa0000,00\xa0zł" in html  # cash limit
    assert "10\xa0000,00\xa0zł" in html  # cash maximum of the product
    assert "5\xa0000,00\xa0zł" in html  # non-cash limit
    assert "30\xa0000,00\xa0zł" in html  # non-cash maximum
    assert "0,00\xa0zł" in html  # the internet limit starts at zero
    assert "Limit kredytowy" not in html


def test_detail_shows_credit_terms_for_a_credit_card(anna, cardholder, credit_product):
    account = factories.account_factory(
        customer=cardholder.customer,
        kind=AccountKind.CREDIT,
        credit_limit_minor=1_500_000,
        balance_minor=-123_456,
        billing_day=15,
    )
    card = factories.card_factory(customer=cardholder.customer, product=credit_product, account=account)

    html = anna.get(_detail(card)).content.decode()

    assert "Limit kredytowy" in html
    assert "15\xa0000,00\xa0zł" in html
    assert "Saldo" in html
    assert "-1\xa0234,56\xa0zł" in html
    assert "13\xa0765,44\xa0zł" in html  # available = limit + balance
    assert "15. dzień każdego miesiąca" in html


def test_detail_shows_the_status_reason_and_the_date_of_the_last_change(anna, cardholder, debit_product):
    with time_machine.travel(dt.datetime(2026, 3, 5, 14, 30, tzinfo=WARSAW), tick=False):
        card = factories.card_factory(customer=cardholder.customer, product=debit_product)

    html = anna.get(_detail(card)).content.decode()

    assert "Wydanie karty" in html
    assert "5 marca 2026, 14:30" in html


def test_business_card_limits_are_marked_read_only(anna, cardholder, business_product):
    card = factories.card_factory(customer=cardholder.customer, product=business_product)

    html = anna.get(_detail(card)).content.decode()

    assert "Karta debetowa, firmowa" in html
    assert "Limity karty firmowej ustala Twoja firma" in html


def test_another_customers_card_is_not_found(anna, second_cardholder, debit_product):
    other = factories.card_factory(customer=second_cardholder.customer, product=debit_product)

    response = anna.get(_detail(other))

    assert response.status_code == 404
    assert other.pan_last4 not in response.content.decode().split("<main", 1)[1]


def test_missing_card_is_not_found_in_the_layout(anna, card):
    response = anna.get(reverse("portal:card_detail", args=[card.pk + 1000]))

    html = response.content.decode()
    assert response.status_code == 404
    assert "Nie znaleziono strony" in html
    assert 'class="skip-link"' in html


def test_anonymous_visitor_is_sent_to_login(client, card):
    response = client.get(_detail(card))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))


def test_detail_refuses_post(anna, card):
    assert anna.post(_detail(card)).status_code == 405


def test_detail_has_a_small_fixed_query_budget(anna, card, django_assert_max_num_queries):
    # User, card (with product, account and bank), its recent history, the bank's branches, the payments its
    # holder's settings declined (kartosfera/notices/): however long the history and the lists. The session
    # comes from the cache (settings.SESSION_ENGINE).
    card_activate(actor=SYSTEM_ACTOR, card=card)
    for _ in range(12):
        card_contactless_set(actor=SYSTEM_ACTOR, card=card, enabled=not card.contactless_enabled)
        card.refresh_from_db()
    for index in range(3):
        branch_create(
            actor=SYSTEM_ACTOR,
            bank=card.bank,
            name=f"Oddział {index}",
            street="Rynek 1",
            postal_code="18-400",
            city="Łomża",
        )
    with django_assert_max_num_queries(5):
        anna.get(_detail(card))
