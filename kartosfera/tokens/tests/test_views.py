"""The cardholder's token pages: list, suspend, resume with an SMS code, delete with a confirmation; 404 for others."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.sca.tests.helpers import code_sent_to, texts_to
from kartosfera.testing.factories import card_factory
from kartosfera.testing.tokens import token_factory
from kartosfera.tokens.models import Token
from kartosfera.tokens.services import token_suspend
from kartosfera.tokens.states import SuspendedBy, TokenStatus, Wallet

pytestmark = pytest.mark.django_db
PHONE = "+48601000111"
STAFF = Actor(type=ActorType.STAFF, id="7", label="agent")


@pytest.fixture
def anna(client, cardholder) -> Client:
    cardholder.user.portal_phone = PHONE
    cardholder.user.save(update_fields=["portal_phone"])
    client.force_login(cardholder.user)
    return client


@pytest.fixture
def token(payable_card) -> Token:
    return token_factory(card=payable_card, wallet=Wallet.GARMIN_PAY, device_name="Fenix 7")


def _url(name: str, token: Token) -> str:
    return reverse(f"portal:token_{name}", kwargs={"card_id": token.card_id, "token_id": token.pk})


def _list(card_id: int) -> str:
    return reverse("portal:card_tokens", kwargs={"card_id": card_id})


def _state(token: Token) -> tuple[str, str]:
    token.refresh_from_db()
    return token.status, token.suspended_by


def test_the_card_page_links_to_its_tokens(anna, payable_card):
    page = anna.get(reverse("portal:card_detail", kwargs={"card_id": payable_card.pk})).content.decode()

    assert _list(payable_card.pk) in page


def test_the_list_shows_each_token_without_the_deleted_ones(anna, payable_card, token):
    other = token_factory(card=payable_card, wallet=Wallet.APPLE_PAY, device_name="iPhone 15")
    gone = token_factory(card=payable_card, wallet=Wallet.BS_PAY)
    anna.post(_url("delete", gone))

    with translation.override("en"):
        response = anna.get(_list(payable_card.pk), HTTP_ACCEPT_LANGUAGE="en")

    page = response.content.decode()
    assert response.status_code == 200
    assert f'id="token-{token.pk}"' in page and f'id="token-{other.pk}"' in page
    assert f'id="token-{gone.pk}"' not in page
    assert "Fenix 7" in page and f"•••• {token.token_last4}" in page
    assert payable_card.pan_last4 in page  # the card, named in the breadcrumbs by its last digits only


def test_the_list_reads_the_tokens_in_a_fixed_number_of_queries(anna, payable_card, django_assert_max_num_queries):
    for _ in range(8):
        token_factory(card=payable_card)

    with django_assert_max_num_queries(12):
        response = anna.get(_list(payable_card.pk))

    assert response.content.decode().count('data-token-id="') == 8


def test_the_holder_suspends_at_once(anna, token):
    response = anna.post(_url("suspend", token))

    assert response.status_code == 302 and response["Location"] == _list(token.card_id)
    assert _state(token) == (TokenStatus.SUSPENDED, SuspendedBy.HOLDER)
    event = AuditEvent.objects.get(action="tokens.token.suspended", object_id=str(token.pk))
    assert event.actor_type == ActorType.CUSTOMER


def test_resuming_needs_the_sms_code_naming_the_token_and_the_card(
    anna, token, payable_card, django_capture_on_commit_callbacks
):
    anna.post(_url("suspend", token))

    with django_capture_on_commit_callbacks(execute=True):
        started = anna.post(_url("resume", token))

    assert started.status_code == 302 and "/confirm/" in started["Location"]
    assert _state(token)[0] == TokenStatus.SUSPENDED  # nothing runs before the code
    sms = texts_to(PHONE)[-1]
    assert f"*{payable_card.pan_last4}" in sms and f"*{token.token_last4}" in sms and "Garmin Pay" in sms

    done = anna.post(started["Location"], {"code": code_sent_to(PHONE)})

    assert done.status_code == 302 and done["Location"] == _list(token.card_id)
    assert _state(token) == (TokenStatus.ACTIVE, "")


def test_a_token_the_bank_suspended_offers_no_resume_and_costs_no_code(anna, token, django_capture_on_commit_callbacks):
    token_suspend(actor=STAFF, token=token, reason="Fraud check")
    page = anna.get(_list(token.card_id)).content.decode()
    assert 'data-action="resume"' not in page

    with django_capture_on_commit_callbacks(execute=True):
        refused = anna.post(_url("resume", token), follow=True)

    # Refused in words before any SMS (the operation's check), not after the code.
    assert refused.status_code == 200 and "tylko bank" in refused.content.decode()
    assert texts_to(PHONE) == []
    assert _state(token) == (TokenStatus.SUSPENDED, SuspendedBy.BANK)


def test_a_code_confirmed_after_the_bank_suspended_the_token_resumes_nothing(
    anna, token, django_capture_on_commit_callbacks
):
    anna.post(_url("suspend", token))
    with django_capture_on_commit_callbacks(execute=True):
        started = anna.post(_url("resume", token))
    assert "/confirm/" in started["Location"]
    # The bank suspends it while the code is on its way: the service refuses under its lock.
    token_suspend(actor=STAFF, token=token, reason="Fraud check")

    done = anna.post(started["Location"], {"code": code_sent_to(PHONE)}, follow=True)

    assert done.status_code == 200
    assert _state(token) == (TokenStatus.SUSPENDED, SuspendedBy.BANK)


def test_delete_asks_for_a_confirmation_first(anna, token):
    page = anna.get(_url("delete", token))

    assert page.status_code == 200
    assert 'id="confirm-delete"' in page.content.decode()
    assert _state(token)[0] == TokenStatus.ACTIVE

    response = anna.post(_url("delete", token))

    assert response.status_code == 302
    assert _state(token)[0] == TokenStatus.DELETED


def test_suspending_a_deleted_token_is_a_message_not_a_500(anna, token):
    anna.post(_url("delete", token))

    response = anna.post(_url("suspend", token), follow=True)

    assert response.status_code == 200
    assert _state(token)[0] == TokenStatus.DELETED


@pytest.mark.parametrize("name", ["suspend", "resume", "delete"])
def test_another_customers_token_is_a_404_on_every_url(anna, second_cardholder, name):
    theirs = token_factory(card=card_factory(customer=second_cardholder.customer))
    before = _state(theirs)

    assert anna.get(_list(theirs.card_id)).status_code == 404
    assert anna.post(_url(name, theirs)).status_code == 404
    assert anna.get(_url("delete", theirs)).status_code == 404
    assert _state(theirs) == before


@pytest.mark.parametrize("name", ["suspend", "resume", "delete"])
def test_a_token_under_another_card_of_the_same_holder_is_a_404(anna, cardholder, token, name):
    other_card = card_factory(customer=cardholder.customer)
    url = reverse(f"portal:token_{name}", kwargs={"card_id": other_card.pk, "token_id": token.pk})

    assert anna.post(url).status_code == 404


def test_anonymous_visitors_go_to_the_login_page(client, token):
    response = client.get(_list(token.card_id))

    assert response.status_code == 302 and "login" in response["Location"]
    assert client.post(_url("suspend", token)).status_code == 302
    assert _state(token)[0] == TokenStatus.ACTIVE


def test_suspend_and_resume_take_post_only(anna, token):
    assert anna.get(_url("suspend", token)).status_code == 405
    assert anna.get(_url("resume", token)).status_code == 405
