"""Caller verification: what it takes to pass, what is stored and audited, and when it lets staff act."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from kartosfera.backoffice.models import CallerVerification
from kartosfera.backoffice.services import (
    IdentityDocumentRequired,
    VerificationRequired,
    caller_verify,
    staff_action_perform,
)
from kartosfera.backoffice.tests.helpers import (
    action_post_data,
    branch_verify,
    card_action_url,
    customer_action_url,
    phone_verify,
)
from kartosfera.cards.models import Card
from kartosfera.cards.states import CardStatus
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer, Residency
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_client
from kartosfera.users.models import User

pytestmark = pytest.mark.django_db

ANNA_BIRTH = dt.date(1985, 3, 14)


def _block(person, customer, card, verification):
    return staff_action_perform(
        staff=person.user,
        action_name="card_block",
        customer=customer,
        verification=verification,
        reason="Lost wallet",
        card=card,
    )


def test_three_matching_answers_by_phone_pass(staff, cardholder, active_card):
    customer = cardholder.customer
    verification = caller_verify(
        staff=staff["agent"].user,
        customer=customer,
        channel="phone",
        identifier=customer.pesel,
        birth_date=ANNA_BIRTH,
        card_last4=active_card.pan_last4,
    )

    assert verification.passed
    assert sorted(verification.checks_passed) == ["birth_date", "card_last4", "identifier"]
    assert verification.is_valid()
    event = AuditEvent.objects.get(action="backoffice.caller.verified")
    assert event.after["verification"] == str(verification.public_id)
    assert event.customer_id == customer.pk


def test_the_number_on_file_in_any_format_counts_as_a_check(staff, cardholder):
    customer = cardholder.customer
    local = customer.phone_on_file.removeprefix("+48")
    verification = caller_verify(
        staff=staff["agent"].user,
        customer=customer,
        channel="phone",
        identifier=customer.pesel,
        birth_date=ANNA_BIRTH,
        calling_number=f"{local[:3]} {local[3:6]} {local[6:]}",
    )

    assert verification.passed
    assert "phone_on_file" in verification.checks_passed


def test_fewer_than_three_answers_store_nothing(staff, cardholder):
    customer = cardholder.customer

    with pytest.raises(ValidationFailed) as caught:
        caller_verify(
            staff=staff["agent"].user,
            customer=customer,
            channel="phone",
            identifier=customer.pesel,
            birth_date=ANNA_BIRTH,
        )

    assert "__all__" in caught.value.field_errors
    assert not CallerVerification.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="backoffice.caller.").exists()


def test_fewer_than_three_answers_through_the_view_is_a_form_error(staff, cardholder):
    customer = cardholder.customer
    response = staff_client(staff["agent"]).post(
        reverse("backoffice:verify", args=[customer.pk]),
        {"channel": "phone", "identifier": customer.pesel, "birth_date": "1985-03-14"},
    )

    assert response.status_code == 400
    assert response.context["verification_form"].non_field_errors()
    assert not CallerVerification.objects.exists()


def test_a_wrong_answer_fails_the_verification_and_blocks_actions(staff, cardholder, active_card):
    person = staff["agent"]
    customer = cardholder.customer
    verification = caller_verify(
        staff=person.user,
        customer=customer,
        channel="phone",
        identifier=customer.pesel,
        birth_date=dt.date(1985, 3, 15),
        calling_number=customer.phone_on_file,
        card_last4=active_card.pan_last4,
    )

    assert not verification.passed
    assert verification.checks_failed == ["birth_date"]
    assert AuditEvent.objects.get(action="backoffice.caller.verification_failed").after["checks_failed"] == [
        "birth_date"
    ]
    with pytest.raises(VerificationRequired):
        _block(person, customer, active_card, verification)
    response = staff_client(person).post(
        card_action_url(active_card, "card_block"), action_post_data("card_block", active_card)
    )
    assert response.status_code == 400
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.ACTIVE
    assert not AuditEvent.objects.filter(action="backoffice.card_block").exists()


def test_a_failed_verification_after_a_passed_one_withdraws_it(staff, cardholder, active_card):
    """The latest verification counts: a caller who then gets an answer wrong is no longer verified."""
    person = staff["agent"]
    customer = cardholder.customer
    phone_verify(person, customer)
    caller_verify(
        staff=person.user, customer=customer, channel="phone", identifier="00000000000", birth_date=ANNA_BIRTH
    )

    response = staff_client(person).post(
        card_action_url(active_card, "card_block"), action_post_data("card_block", active_card)
    )

    assert response.status_code == 400
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.ACTIVE


@pytest.mark.parametrize("right", [True, False])
def test_the_audit_row_never_holds_the_answers(right, staff, cardholder, active_card):
    customer = cardholder.customer
    birth = ANNA_BIRTH if right else dt.date(1970, 1, 2)
    identifier = customer.pesel if right else "70010212345"
    last4 = active_card.pan_last4 if right else "9876"
    caller_verify(
        staff=staff["agent"].user,
        customer=customer,
        channel="phone",
        identifier=identifier,
        birth_date=birth,
        card_last4=last4,
    )

    event = AuditEvent.objects.get(action__startswith="backoffice.caller.")
    after = {k: v for k, v in event.after.items() if k != "verification"}  # a random UUID
    stored = json.dumps([event.before, after, event.actor_label, event.object_id])
    for answer in (identifier, birth.isoformat(), birth.strftime("%d.%m.%Y"), last4):
        assert answer not in stored
    row = CallerVerification.objects.get()
    assert identifier not in json.dumps([row.checks_passed, row.checks_failed])


def test_a_verification_expires_after_thirty_minutes(staff, cardholder, active_card):
    person = staff["agent"]
    customer = cardholder.customer
    with time_machine.travel(timezone.now(), tick=False) as clock:
        verification = phone_verify(person, customer)
        clock.shift(dt.timedelta(minutes=29))
        assert verification.is_valid()
        clock.shift(dt.timedelta(minutes=1))

        assert not verification.is_valid()
        with pytest.raises(VerificationRequired):
            _block(person, customer, active_card, verification)
        response = staff_client(person).post(
            card_action_url(active_card, "card_block"), action_post_data("card_block", active_card)
        )
        assert response.status_code == 400
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.ACTIVE


def test_a_verification_by_one_staff_member_does_not_let_another_act(staff, cardholder, active_card):
    customer = cardholder.customer
    verification = phone_verify(staff["agent"], customer)

    with pytest.raises(VerificationRequired):
        _block(staff["supervisor"], customer, active_card, verification)
    response = staff_client(staff["supervisor"]).post(
        card_action_url(active_card, "card_block"), action_post_data("card_block", active_card)
    )

    assert response.status_code == 400
    assert Card.objects.get(pk=active_card.pk).status == CardStatus.ACTIVE


def test_a_verification_of_one_customer_does_not_cover_another(staff, cardholder, second_cardholder, debit_product):
    person = staff["agent"]
    verification = phone_verify(person, cardholder.customer)
    bartosz_card = factories.card_factory(customer=second_cardholder.customer, product=debit_product)

    with pytest.raises(VerificationRequired):
        staff_action_perform(
            staff=person.user,
            action_name="portal_block",
            customer=second_cardholder.customer,
            verification=verification,
            reason="Because",
        )
    response = staff_client(person).post(
        customer_action_url(second_cardholder.customer, "portal_block"), action_post_data("portal_block")
    )

    assert response.status_code == 400
    assert not User.objects.get(pk=second_cardholder.user.pk).is_access_blocked
    assert bartosz_card.status == Card.objects.get(pk=bartosz_card.pk).status


@pytest.mark.parametrize(
    ("action_name", "fields"),
    [
        ("phone_on_file_change", {"phone": "600 999 888"}),
        ("portal_phone_change", {"phone": "600 999 888"}),
        ("nonresident_id_assign", {"nonresident_id": "UA123456"}),
    ],
)
def test_in_person_changes_need_a_branch_verification_even_for_a_supervisor(action_name, fields, staff, cardholder):
    person = staff["supervisor"]
    customer = cardholder.customer
    if action_name == "nonresident_id_assign":
        customer = factories.customer_factory(
            residency=Residency.NON_RESIDENT, nonresident_id=None, birth_date=dt.date(1991, 4, 5)
        )
        card = factories.card_factory(customer=customer)
        verification = caller_verify(
            staff=person.user,
            customer=customer,
            channel="phone",
            birth_date=dt.date(1991, 4, 5),
            calling_number=customer.phone_on_file or "",
            card_last4=card.pan_last4,
        )
    else:
        verification = phone_verify(person, customer)
    assert verification.passed
    before = Customer.objects.filter(pk=customer.pk).values().get()

    with pytest.raises(IdentityDocumentRequired):
        staff_action_perform(
            staff=person.user,
            action_name=action_name,
            customer=customer,
            verification=verification,
            reason="Customer asked",
            data=fields,
        )
    response = staff_client(person).post(
        customer_action_url(customer, action_name), action_post_data(action_name, **fields)
    )

    assert response.status_code == 400
    assert Customer.objects.filter(pk=customer.pk).values().get() == before
    assert User.objects.get(pk=cardholder.user.pk).portal_phone == cardholder.user.portal_phone
    assert AuditEvent.objects.filter(action="backoffice.action_refused").exists()

    branch_verify(person, customer)
    response = staff_client(person).post(
        customer_action_url(customer, action_name), action_post_data(action_name, **fields)
    )
    assert response.status_code == 302


def test_an_identity_document_cannot_be_checked_by_phone(staff, cardholder):
    customer = cardholder.customer

    with pytest.raises(ValidationFailed) as caught:
        caller_verify(
            staff=staff["branch"].user,
            customer=customer,
            channel="phone",
            identifier=customer.pesel,
            birth_date=ANNA_BIRTH,
            calling_number=customer.phone_on_file,
            document_type="id_card",
        )

    assert set(caught.value.field_errors) == {"document_type"}
    assert not CallerVerification.objects.exists()


def test_a_branch_verification_needs_the_document(staff, cardholder):
    customer = cardholder.customer

    with pytest.raises(ValidationFailed):
        caller_verify(
            staff=staff["branch"].user,
            customer=customer,
            channel="branch",
            identifier=customer.pesel,
            birth_date=ANNA_BIRTH,
        )

    assert not CallerVerification.objects.exists()


def test_a_non_resident_without_a_number_is_verified_at_a_branch_by_the_document(staff, db):
    """Nothing else identifies them yet: without this, the number could never be assigned."""
    foreigner = factories.customer_factory(
        residency=Residency.NON_RESIDENT, nonresident_id=None, birth_date=dt.date(1991, 4, 5)
    )

    verification = caller_verify(
        staff=staff["branch"].user,
        customer=foreigner,
        channel="branch",
        birth_date=dt.date(1991, 4, 5),
        document_type="passport",
    )

    assert verification.passed
    assert verification.has_identity_document
    with pytest.raises(ValidationFailed):
        caller_verify(staff=staff["branch"].user, customer=foreigner, channel="branch", birth_date=dt.date(1991, 4, 5))


def test_a_refused_verification_does_not_echo_the_callers_answers(staff, cardholder):
    """After a form error the page asks again: the PESEL and birth date typed are not put back into the HTML."""
    customer = cardholder.customer
    response = staff_client(staff["agent"]).post(
        reverse("backoffice:verify", args=[customer.pk]),
        {"channel": "phone", "identifier": customer.pesel, "birth_date": "1985-03-14"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert customer.pesel not in html
    assert "1985-03-14" not in html
