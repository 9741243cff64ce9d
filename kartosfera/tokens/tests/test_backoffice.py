"""The back office: a customer's tokens on their page, and the staff's suspension of a token with a reason."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kartosfera.backoffice.tests.helpers import action_post_data, card_action_url, phone_verify
from kartosfera.cards.operations_services import card_activate, card_mobile_payments_activate
from kartosfera.core.models import AuditEvent
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_client
from kartosfera.testing.tokens import token_factory
from kartosfera.tokens.models import Token
from kartosfera.tokens.states import SuspendedBy, TokenStatus, Wallet

pytestmark = pytest.mark.django_db


def _customer_url(customer) -> str:
    return reverse("backoffice:customer", args=[customer.pk])


def _payable(customer, product):
    card = card_activate(actor=factories.SYSTEM, card=factories.card_factory(customer=customer, product=product))
    return card_mobile_payments_activate(actor=factories.SYSTEM, card=card)


def test_the_customer_page_lists_each_cards_tokens(staff, payable_card):
    token = token_factory(card=payable_card, wallet=Wallet.APPLE_PAY, device_name="iPhone 15")

    page = staff_client(staff["agent"]).get(_customer_url(payable_card.customer)).content.decode()

    assert f'id="card-{payable_card.pk}-tokens"' in page
    assert f'id="token-{token.pk}"' in page and "iPhone 15" in page and f"•••• {token.token_last4}" in page


def test_tokens_cost_no_query_per_card_or_token(staff, cardholder, second_cardholder, debit_product):
    client = staff_client(staff["supervisor"])
    token_factory(card=_payable(cardholder.customer, debit_product))
    for _ in range(4):
        card = _payable(second_cardholder.customer, debit_product)
        token_factory(card=card)
        token_factory(card=card, wallet=Wallet.GARMIN_PAY)
    client.get(_customer_url(cardholder.customer))  # warm-up

    with CaptureQueriesContext(connection) as one:
        client.get(_customer_url(cardholder.customer))
    with CaptureQueriesContext(connection) as many:
        client.get(_customer_url(second_cardholder.customer))

    assert len(many) == len(one), [q["sql"] for q in many.captured_queries]


def test_staff_suspend_a_token_by_its_last_digits_with_a_reason(staff, payable_card):
    token = token_factory(card=payable_card)
    agent = staff["agent"]
    phone_verify(agent, payable_card.customer)

    response = staff_client(agent).post(
        card_action_url(payable_card, "token_suspend"),
        action_post_data("token_suspend", payable_card, reason="Phone stolen", token_last4=token.token_last4),
    )

    assert response.status_code == 302
    token.refresh_from_db()
    assert (token.status, token.suspended_by) == (TokenStatus.SUSPENDED, SuspendedBy.BANK)
    suspended = AuditEvent.objects.get(action="tokens.token.suspended", object_id=str(token.pk))
    assert suspended.after["reason"] == "Phone stolen"
    assert AuditEvent.objects.get(action="backoffice.token_suspend").after["token_id"] == token.pk


def test_digits_of_no_token_are_a_form_error_and_nothing_changes(staff, payable_card):
    token = token_factory(card=payable_card)
    agent = staff["agent"]
    phone_verify(agent, payable_card.customer)
    other = "0000" if token.token_last4 != "0000" else "1111"

    response = staff_client(agent).post(
        card_action_url(payable_card, "token_suspend"),
        action_post_data("token_suspend", payable_card, token_last4=other),
    )

    assert response.status_code == 400
    token.refresh_from_db()
    assert token.status == TokenStatus.ACTIVE
    assert AuditEvent.objects.filter(action="backoffice.action_refused").exists()


def test_another_customers_card_is_a_404(staff, payable_card, second_cardholder, debit_product):
    theirs = _payable(second_cardholder.customer, debit_product)
    token = token_factory(card=theirs)
    agent = staff["agent"]
    phone_verify(agent, payable_card.customer)
    url = reverse("backoffice:card_action", args=[payable_card.customer.pk, theirs.pk, "token_suspend"])

    response = staff_client(agent).post(url, action_post_data("token_suspend", theirs, token_last4=token.token_last4))

    assert response.status_code == 404
    assert Token.objects.get(pk=token.pk).status == TokenStatus.ACTIVE
