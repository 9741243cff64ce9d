"""What each staff action really does, through the portal's own services, and how refusals look."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.urls import reverse
from django.utils import translation

from kartosfera.backoffice.tests.helpers import (
    action_post_data,
    branch_verify,
    card_action_url,
    customer_action_url,
    phone_verify,
)
from kartosfera.cards.models import Card
from kartosfera.cards.states import STAFF_CANCEL_REASONS, CardStatus
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.models import Customer, Residency
from kartosfera.notifications.backends import locmem
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_client
from kartosfera.users.models import User

pytestmark = pytest.mark.django_db

CANCEL_REASON = STAFF_CANCEL_REASONS[0]


def _text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def agent(staff, cardholder):
    """The call-centre agent, signed in, having verified Anna by phone."""
    phone_verify(staff["agent"], cardholder.customer)
    return staff_client(staff["agent"])


@pytest.fixture
def branch(staff, cardholder):
    """The branch employee, signed in, having seen Anna's ID card."""
    branch_verify(staff["branch"], cardholder.customer)
    return staff_client(staff["branch"])


def test_card_block_blocks_the_card_with_the_staff_member_as_the_actor(agent, staff, active_card):
    response = agent.post(card_action_url(active_card, "card_block"), action_post_data("card_block", active_card))

    assert response.status_code == 302
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.BLOCKED
    event = AuditEvent.objects.get(action="cards.card.blocked", object_id=str(active_card.pk))
    assert (event.actor_type, event.actor_id) == (ActorType.STAFF, str(staff["agent"].user.pk))
    flash_page = agent.get(reverse("backoffice:customer", args=[active_card.customer_id]))
    assert f"*{active_card.pan_last4}" in _text(flash_page)


def test_card_unblock_unblocks(agent, active_card):
    agent.post(card_action_url(active_card, "card_block"), action_post_data("card_block", active_card))

    response = agent.post(card_action_url(active_card, "card_unblock"), action_post_data("card_unblock", active_card))

    assert response.status_code == 302
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.ACTIVE


def test_card_cancel_needs_the_confirmation(agent, active_card):
    response = agent.post(
        card_action_url(active_card, "card_cancel"),
        action_post_data("card_cancel", active_card, cancel_reason=CANCEL_REASON),
    )

    assert response.status_code == 400
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.ACTIVE
    assert not AuditEvent.objects.filter(action="backoffice.card_cancel").exists()


def test_card_cancel_needs_a_cancel_reason(agent, active_card):
    response = agent.post(
        card_action_url(active_card, "card_cancel"), action_post_data("card_cancel", active_card, confirm="on")
    )

    assert response.status_code == 400
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.ACTIVE


def test_card_cancel_is_final(agent, active_card):
    response = agent.post(
        card_action_url(active_card, "card_cancel"),
        action_post_data("card_cancel", active_card, cancel_reason=CANCEL_REASON, confirm="on"),
    )
    assert response.status_code == 302
    card = Card.objects.get(pk=active_card.pk)
    assert (card.status, card.status_reason) == (CardStatus.CANCELLED, CANCEL_REASON)
    assert AuditEvent.objects.get(action="backoffice.card_cancel").after["cancel_reason"] == CANCEL_REASON

    response = agent.post(card_action_url(active_card, "card_unblock"), action_post_data("card_unblock", active_card))

    assert response.status_code == 400
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.CANCELLED


def test_wrong_pin_reset_sets_the_counter_to_zero(agent, active_card):
    Card.objects.filter(pk=active_card.pk).update(wrong_pin_count=3)

    response = agent.post(
        card_action_url(active_card, "wrong_pin_reset"), action_post_data("wrong_pin_reset", active_card)
    )

    assert response.status_code == 302
    assert Card.objects.get(pk=active_card.pk).wrong_pin_count == 0
    assert AuditEvent.objects.get(action="cards.card.wrong_pin_reset").actor_type == ActorType.STAFF


def test_portal_block_ends_access_and_unblock_restores_it(agent, cardholder):
    customer = cardholder.customer
    assert (
        agent.post(customer_action_url(customer, "portal_block"), action_post_data("portal_block")).status_code == 302
    )
    assert User.objects.get(pk=cardholder.user.pk).is_access_blocked

    assert (
        agent.post(customer_action_url(customer, "portal_unblock"), action_post_data("portal_unblock")).status_code
        == 302
    )
    assert not User.objects.get(pk=cardholder.user.pk).is_access_blocked


def test_portal_phone_change_stores_e164_and_tells_the_old_number(
    branch, cardholder, django_capture_on_commit_callbacks
):
    old_phone = cardholder.user.portal_phone
    customer = cardholder.customer

    with django_capture_on_commit_callbacks(execute=True):
        response = branch.post(
            customer_action_url(customer, "portal_phone_change"),
            action_post_data("portal_phone_change", phone="600 123 456"),
        )

    assert response.status_code == 302
    assert User.objects.get(pk=cardholder.user.pk).portal_phone == "+48600123456"
    assert [m.to for m in locmem.outbox] == [old_phone]
    event = AuditEvent.objects.get(action="backoffice.portal_phone_change")
    assert "600123456" not in str(event.after)  # masked


def test_phone_on_file_change_stores_e164(branch, cardholder):
    customer = cardholder.customer

    response = branch.post(
        customer_action_url(customer, "phone_on_file_change"),
        action_post_data("phone_on_file_change", phone="+48 600-123-457"),
    )

    assert response.status_code == 302
    assert Customer.objects.get(pk=customer.pk).phone_on_file == "+48600123457"


def test_an_invalid_phone_is_a_form_error(branch, cardholder):
    customer = cardholder.customer
    before = Customer.objects.get(pk=customer.pk).phone_on_file

    response = branch.post(
        customer_action_url(customer, "phone_on_file_change"), action_post_data("phone_on_file_change", phone="12")
    )

    assert response.status_code == 400
    assert Customer.objects.get(pk=customer.pk).phone_on_file == before


@pytest.fixture
def foreigner(staff):
    customer = factories.customer_factory(
        residency=Residency.NON_RESIDENT,
        nonresident_id=None,
        first_name="Olena",
        last_name="Kovalenko",
        birth_date=dt.date(1991, 4, 5),
    )
    branch_verify(staff["branch"], customer)
    return customer


def test_nonresident_id_assign_assigns_the_number(staff, foreigner):
    response = staff_client(staff["branch"]).post(
        customer_action_url(foreigner, "nonresident_id_assign"),
        action_post_data("nonresident_id_assign", nonresident_id="ua 654 321"),
    )

    assert response.status_code == 302
    assert Customer.objects.get(pk=foreigner.pk).nonresident_id == "UA654321"


def test_nonresident_id_assign_refuses_another_users_own_login(staff, foreigner, cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(login="annanowak1")

    response = staff_client(staff["branch"]).post(
        customer_action_url(foreigner, "nonresident_id_assign"),
        action_post_data("nonresident_id_assign", nonresident_id="ANNANOWAK1"),
    )

    assert response.status_code == 400
    assert Customer.objects.get(pk=foreigner.pk).nonresident_id is None
    assert AuditEvent.objects.get(action="backoffice.action_refused").after["action"] == "nonresident_id_assign"


def test_nonresident_id_assign_refuses_a_duplicate(staff, foreigner):
    factories.customer_factory(residency=Residency.NON_RESIDENT, nonresident_id="UA111222")

    response = staff_client(staff["branch"]).post(
        customer_action_url(foreigner, "nonresident_id_assign"),
        action_post_data("nonresident_id_assign", nonresident_id="ua111222"),
    )

    assert response.status_code == 400
    assert Customer.objects.get(pk=foreigner.pk).nonresident_id is None


def test_nonresident_id_assign_refuses_a_resident(branch, cardholder):
    response = branch.post(
        customer_action_url(cardholder.customer, "nonresident_id_assign"),
        action_post_data("nonresident_id_assign", nonresident_id="XY999"),
    )

    assert response.status_code == 400
    assert Customer.objects.get(pk=cardholder.customer.pk).nonresident_id is None


def test_a_missing_reason_is_refused_with_a_message(agent, active_card):
    response = agent.post(
        card_action_url(active_card, "card_block"), action_post_data("card_block", active_card, reason=" ")
    )

    assert response.status_code == 400
    form = next(
        e["form"] for card, entries in response.context["cards"] for e in entries if e["action"].name == "card_block"
    )
    assert form.errors["reason"]
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.ACTIVE
    assert not AuditEvent.objects.filter(action="backoffice.card_block").exists()


def test_another_customers_card_in_the_url_is_404(agent, cardholder, second_cardholder, debit_product):
    bartosz_card = factories.card_factory(customer=second_cardholder.customer, product=debit_product)
    url = reverse("backoffice:card_action", args=[cardholder.customer.pk, bartosz_card.pk, "card_block"])

    response = agent.post(url, action_post_data("card_block", bartosz_card))

    assert response.status_code == 404
    assert Card.objects.get(pk=bartosz_card.pk).status == bartosz_card.status


def test_a_nonexistent_customer_is_404(agent, staff):
    assert agent.post(reverse("backoffice:customer_action", args=[999_999, "portal_block"])).status_code == 404
    assert agent.get(reverse("backoffice:customer", args=[999_999])).status_code == 404


def test_an_unknown_action_is_404(agent, cardholder, active_card):
    customer = cardholder.customer
    assert agent.post(customer_action_url(customer, "self_destruct"), {}).status_code == 404
    # A card action on the customer URL and a customer action on a card URL are unknown too.
    assert agent.post(customer_action_url(customer, "card_block"), {}).status_code == 404
    assert agent.post(card_action_url(active_card, "portal_block"), {}).status_code == 404


def test_actions_refuse_get(agent, active_card):
    assert agent.get(card_action_url(active_card, "card_block")).status_code == 405


def test_a_refused_action_is_audited_and_explained(agent, active_card):
    """card_unblock on an active card: the card service says no; the staff member sees why."""
    response = agent.post(card_action_url(active_card, "card_unblock"), action_post_data("card_unblock", active_card))

    assert response.status_code == 400
    refused = AuditEvent.objects.get(action="backoffice.action_refused")
    assert refused.after["action"] == "card_unblock"
    assert refused.actor_type == ActorType.STAFF
    form = next(e for _, entries in response.context["cards"] for e in entries if e["action"].name == "card_unblock")
    errors = form["form"].non_field_errors()
    assert errors
    assert str(errors[0]) in _text(response)
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.ACTIVE


def test_portal_unlock_lifts_a_lock(agent, cardholder):
    from django.utils import timezone

    User.objects.filter(pk=cardholder.user.pk).update(
        locked_until=timezone.now() + dt.timedelta(hours=1), failed_login_count=5
    )

    response = agent.post(customer_action_url(cardholder.customer, "portal_unlock"), action_post_data("portal_unlock"))

    assert response.status_code == 302
    user = User.objects.get(pk=cardholder.user.pk)
    assert (user.locked_until, user.failed_login_count) == (None, 0)


def test_portal_unlock_of_an_unlocked_user_is_refused(agent, cardholder):
    with translation.override("pl"):
        response = agent.post(
            customer_action_url(cardholder.customer, "portal_unlock"), action_post_data("portal_unlock")
        )

    assert response.status_code == 400
    assert AuditEvent.objects.get(action="backoffice.action_refused").after["refusal"] == "not_locked"
