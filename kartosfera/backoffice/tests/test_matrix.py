"""Who may do what in the back office: every role in every scope against every permission and every action.

The expected table below documents least privilege on purpose (PCI DSS 7.2);
the loops over ACTIONS, StaffRole and STAFF_POSTS come from the code's own
registry, so a new action, role or scope is covered without editing this file.
Each action is tried on a customer of the staff member's bank, of another bank
and of both (banks/scope.py): another bank's customer or card is 404 whatever the role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from kartosfera.backoffice.actions import ACTIONS
from kartosfera.backoffice.roles import (
    NEEDS_IDENTITY_DOCUMENT,
    ROLE_PERMISSIONS,
    STAFF_POSTS,
    StaffPermission,
    StaffRole,
    StaffScope,
    role_allows,
    role_scope_allows,
)
from kartosfera.backoffice.services import staff_action_perform
from kartosfera.backoffice.tests.helpers import (
    action_post_data,
    branch_verify,
    card_action_url,
    customer_action_url,
    phone_verify,
    verification_planted,
)
from kartosfera.banks.models import Bank
from kartosfera.blik.selectors import blik_state
from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_block_temporarily
from kartosfera.cards.states import STAFF_CANCEL_REASONS, CardStatus
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.models import BankMembership, Customer, Residency
from kartosfera.secure3d.models import ThreeDSProfile
from kartosfera.secure3d.services import threeds_is_locked
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_client, staff_person_create
from kartosfera.tokens.models import Token
from kartosfera.tokens.states import SuspendedBy
from kartosfera.users.models import User

pytestmark = pytest.mark.django_db

P = StaffPermission
ROLES = [str(role) for role in StaffRole]
CANCEL_REASON = STAFF_CANCEL_REASONS[0]

# The least-privilege table, written out once to document it: the agent
# (verifies by what a caller knows) cannot redirect codes or assign IDs; only a
# supervisor reviews flagged payments and corrects a statement; the auditor only reads.
_OVERSIGHT = {
    P.STAFF_ACTIVITY_VIEW,
    P.REVIEW_QUEUE_VIEW,
    P.AUTHORIZATION_REVIEW,
    P.STATEMENT_CORRECT,
    P.JOB_RUNS_VIEW,
    P.STAFF_ACCOUNT_MANAGE,
}
EXPECTED_REFUSED = {
    "agent": {
        P.PHONE_ON_FILE_CHANGE,
        P.PORTAL_PHONE_CHANGE,
        P.NONRESIDENT_ID_ASSIGN,
        P.PAYMENTS_STOP_LIFT,
        *_OVERSIGHT,
    },
    "branch": _OVERSIGHT,
    "supervisor": set(),
    "auditor": set(P) - {P.CUSTOMER_VIEW, P.STAFF_ACTIVITY_VIEW, P.REVIEW_QUEUE_VIEW, P.JOB_RUNS_VIEW},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("permission", [str(p) for p in StaffPermission])
def test_the_matrix_is_least_privilege(role, permission):
    """Each role is allowed exactly what the documented table says, nothing more."""
    assert role_allows(role, permission) is (permission not in EXPECTED_REFUSED[role])
    assert (permission in ROLE_PERMISSIONS[role]) is role_allows(role, permission)


def test_every_action_needs_a_permission_of_the_matrix():
    """No action escapes the matrix: each one names a real permission that some role lacks."""
    for action in ACTIONS.values():
        assert action.permission in set(StaffPermission)
        assert not role_allows(StaffRole.AUDITOR, action.permission)


def test_an_unknown_role_may_do_nothing():
    assert not any(role_allows("janitor", p) for p in StaffPermission)


@dataclass
class Scenario:
    customer: Customer
    card: Card | None
    fields: dict[str, Any]
    done: Callable[[], bool]


def _scenario(action: str, cardholder, debit_product, banks: list[Bank] | None = None) -> Scenario:
    """A state in which ``action`` is offered, and how to tell it was done (a new customer is of ``banks``)."""
    customer = cardholder.customer
    user: User = cardholder.user
    now = timezone.now()
    if action == "portal_unlock":
        User.objects.filter(pk=user.pk).update(locked_until=now + dt.timedelta(hours=2), failed_login_count=5)
        return Scenario(customer, None, {}, lambda: User.objects.get(pk=user.pk).locked_until is None)
    if action == "portal_block":
        return Scenario(customer, None, {}, lambda: User.objects.get(pk=user.pk).is_access_blocked)
    if action == "portal_unblock":
        User.objects.filter(pk=user.pk).update(access_blocked_at=now, access_blocked_by="staff")
        return Scenario(customer, None, {}, lambda: not User.objects.get(pk=user.pk).is_access_blocked)
    if action == "portal_sessions_end":
        epoch = user.session_epoch
        return Scenario(customer, None, {}, lambda: User.objects.get(pk=user.pk).session_epoch > epoch)
    if action == "blik_switch_off":
        return Scenario(customer, None, {}, lambda: not blik_state(customer).enabled)
    if action == "payments_stop":
        return Scenario(customer, None, {}, lambda: Customer.objects.get(pk=customer.pk).payments_stopped)
    if action == "payments_stop_lift":
        from kartosfera.customers.models import StopChannel
        from kartosfera.stops.services import customer_stop

        customer_stop(actor=factories.SYSTEM, customer=customer, channel=StopChannel.PORTAL)
        return Scenario(customer, None, {}, lambda: not Customer.objects.get(pk=customer.pk).payments_stopped)
    if action == "threeds_unlock":
        ThreeDSProfile.objects.create(customer=customer, locked_until=now + dt.timedelta(hours=3))
        assert threeds_is_locked(customer=customer)
        return Scenario(customer, None, {}, lambda: not threeds_is_locked(customer=customer))
    if action == "phone_on_file_change":
        return Scenario(
            customer,
            None,
            {"phone": "600 999 888"},
            lambda: Customer.objects.get(pk=customer.pk).phone_on_file == "+48600999888",
        )
    if action == "portal_phone_change":
        return Scenario(
            customer,
            None,
            {"phone": "600 999 777"},
            lambda: User.objects.get(pk=user.pk).portal_phone == "+48600999777",
        )
    if action == "nonresident_id_assign":
        first, *others = banks or [factories.bank_factory()]
        foreigner = factories.customer_factory(
            bank=first,
            residency=Residency.NON_RESIDENT,
            nonresident_id=None,
            first_name="Olena",
            last_name="Kovalenko",
            birth_date=dt.date(1991, 4, 5),
        )
        _join(foreigner, others)
        return Scenario(
            foreigner,
            None,
            {"nonresident_id": "ua 123 456"},
            lambda: Customer.objects.get(pk=foreigner.pk).nonresident_id == "UA123456",
        )
    if action == "device_block":
        from kartosfera.devices.models import AppDevice, DeviceState
        from kartosfera.devices.tests.helpers import device_for

        device = device_for(customer)
        return Scenario(
            customer,
            None,
            {"device": str(device.public_id)},
            lambda: AppDevice.objects.get(pk=device.pk).state == DeviceState.BLOCKED_TEMPORARILY,
        )
    card = factories.card_factory(customer=customer, product=debit_product)
    from kartosfera.cards.operations_services import card_activate

    card = card_activate(actor=factories.SYSTEM, card=card)

    def status() -> str:
        return Card.objects.get(pk=card.pk).status

    if action == "card_block":
        return Scenario(customer, card, {}, lambda: status() == CardStatus.BLOCKED)
    if action == "card_unblock":
        card = card_block_temporarily(actor=factories.SYSTEM, card=card)
        return Scenario(customer, card, {}, lambda: status() == CardStatus.ACTIVE)
    if action == "card_cancel":
        return Scenario(
            customer, card, {"cancel_reason": CANCEL_REASON, "confirm": "on"}, lambda: status() == CardStatus.CANCELLED
        )
    if action == "wrong_pin_reset":
        Card.objects.filter(pk=card.pk).update(wrong_pin_count=2)
        return Scenario(customer, card, {}, lambda: Card.objects.get(pk=card.pk).wrong_pin_count == 0)
    if action == "token_suspend":
        from kartosfera.cards.operations_services import card_mobile_payments_activate
        from kartosfera.testing.tokens import token_factory

        card_mobile_payments_activate(actor=factories.SYSTEM, card=card)
        token = token_factory(card=card)
        return Scenario(
            customer,
            card,
            {"token_last4": token.token_last4},
            lambda: Token.objects.get(pk=token.pk).suspended_by == SuspendedBy.BANK,
        )
    raise AssertionError(f"no scenario for the action {action}: add one")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action_name", list(ACTIONS))
def test_each_action_through_the_view_for_each_role(role, action_name, staff, cardholder, debit_product):
    """Allowed roles change the state with an audit row naming them, the reason and the verification;
    refused roles get 403 and nothing changes (even holding a valid verification)."""
    action = ACTIONS[action_name]
    person = staff[role]
    scenario = _scenario(action_name, cardholder, debit_product)
    if role_allows(role, P.CALLER_VERIFY):
        needs_branch = action.permission in NEEDS_IDENTITY_DOCUMENT
        verification = (branch_verify if needs_branch else phone_verify)(person, scenario.customer)
    else:
        verification = verification_planted(person, scenario.customer)
    url = (
        card_action_url(scenario.card, action_name)
        if scenario.card is not None
        else customer_action_url(scenario.customer, action_name)
    )
    client = staff_client(person)

    response = client.post(url, action_post_data(action_name, scenario.card, **scenario.fields))

    events = AuditEvent.objects.filter(action=f"backoffice.{action_name}")
    if role_allows(role, action.permission):
        assert response.status_code == 302, response.content.decode()[:2000]
        assert response["Location"] == reverse("backoffice:customer", args=[scenario.customer.pk])
        assert scenario.done()
        event = events.get()
        assert event.actor_type == ActorType.STAFF
        assert event.actor_id == str(person.user.pk)
        assert event.customer_id == scenario.customer.pk
        assert event.after["reason"] == "Customer asked on the phone"
        assert event.after["verification"] == str(verification.public_id)
    else:
        assert response.status_code == 403
        assert not scenario.done()
        assert not events.exists()


REFUSED_PAIRS = [(r, name) for r in ROLES for name, a in ACTIONS.items() if not role_allows(r, a.permission)]


@pytest.mark.parametrize(("role", "action_name"), REFUSED_PAIRS)
def test_the_service_refuses_what_the_role_does_not_allow(role, action_name, staff, cardholder, debit_product):
    """staff_action_perform checks the role itself: a view that forgot the check would still be refused."""
    person = staff[role]
    scenario = _scenario(action_name, cardholder, debit_product)
    verification = verification_planted(person, scenario.customer)

    with pytest.raises(PermissionDenied):
        staff_action_perform(
            staff=person.user,
            action_name=action_name,
            customer=scenario.customer,
            verification=verification,
            reason="Because",
            card=scenario.card,
            data=dict(scenario.fields),
        )

    assert not scenario.done()
    assert not AuditEvent.objects.filter(action=f"backoffice.{action_name}").exists()


def test_a_cardholder_cannot_use_the_service(cardholder, card):
    """A customer's user object (no staff record) is refused like an unknown role."""
    with pytest.raises(PermissionDenied):
        staff_action_perform(
            staff=cardholder.user,
            action_name="card_block",
            customer=cardholder.customer,
            verification=None,
            reason="Because",
            card=card,
        )


@pytest.mark.parametrize("role", ROLES)
def test_the_activity_page_is_for_supervisors_and_auditors(role, staff):
    response = staff_client(staff[role]).get(reverse("backoffice:activity"))

    assert response.status_code == (200 if role_allows(role, P.STAFF_ACTIVITY_VIEW) else 403)
    assert (response.status_code == 200) is (role in {"supervisor", "auditor"})


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_open_a_customer(role, staff, cardholder):
    response = staff_client(staff[role]).get(reverse("backoffice:customer", args=[cardholder.customer.pk]))

    assert response.status_code == 200


def test_the_auditor_cannot_verify_a_caller(staff, cardholder):
    """The verify form is a write: an auditor's POST is refused and nothing is stored."""
    customer = cardholder.customer
    response = staff_client(staff["auditor"]).post(
        reverse("backoffice:verify", args=[customer.pk]),
        {
            "channel": "phone",
            "identifier": customer.pesel,
            "birth_date": "1985-03-14",
            "calling_number": customer.phone_on_file,
        },
    )

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="backoffice.caller.").exists()


@pytest.mark.parametrize("role", ["agent", "branch", "supervisor"])
def test_roles_that_verify_can_verify_through_the_view(role, staff, cardholder):
    customer = cardholder.customer
    response = staff_client(staff[role]).post(
        reverse("backoffice:verify", args=[customer.pk]),
        {
            "channel": "phone",
            "identifier": customer.pesel,
            "birth_date": "1985-03-14",
            "calling_number": customer.phone_on_file,
        },
    )

    assert response.status_code == 302
    assert AuditEvent.objects.get(action="backoffice.caller.verified").actor_id == str(staff[role].user.pk)


# --- Role x scope x action, on a customer of the staff member's bank, of another bank and of both ----------

RELATIONS = ["same_bank", "other_bank", "both_banks"]


@dataclass
class _Cardholder:
    customer: Customer
    user: User


def _join(customer: Customer, banks: list[Bank]) -> None:
    """Make ``customer`` a customer of ``banks`` too (as a second bank's provisioning would)."""
    for bank in banks:
        BankMembership.objects.create(customer=customer, bank=bank, customer_number=f"{bank.code}-{customer.pk}")


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize(("role", "scope"), STAFF_POSTS)
@pytest.mark.parametrize("action_name", list(ACTIONS))
def test_each_action_for_each_role_in_each_scope_on_each_banks_customer(role, scope, relation, action_name):
    """The staff member is the group's or bank A's. The customer is of bank A, of bank B, or of both; a card
    action acts on the card of the customer's last bank (bank B's for a customer of both). Out of a bank's
    scope: 404 and nothing done (even with a valid verification); inside it, the role decides as above."""
    bank_a = factories.bank_factory()
    bank_b = factories.bank_factory("BANKB")
    banks = {"same_bank": [bank_a], "other_bank": [bank_b], "both_banks": [bank_a, bank_b]}[relation]
    customer = factories.customer_factory(bank=banks[0], first_name="Halina", last_name="Mazur")
    _join(customer, banks[1:])
    cardholder = _Cardholder(customer=customer, user=factories.cardholder_user_factory(customer=customer))
    product = factories.product_factory(bank=banks[-1])
    scenario = _scenario(action_name, cardholder, product, banks=banks)
    action = ACTIONS[action_name]
    person = staff_person_create(role, bank=bank_a if scope == StaffScope.BANK else None)
    verification_planted(person, scenario.customer)
    url = (
        card_action_url(scenario.card, action_name)
        if scenario.card is not None
        else customer_action_url(scenario.customer, action_name)
    )

    response = staff_client(person).post(url, action_post_data(action_name, scenario.card, **scenario.fields))

    in_scope = scope == StaffScope.GROUP or (
        bank_a in banks and (scenario.card is None or scenario.card.bank_id == bank_a.pk)
    )
    events = AuditEvent.objects.filter(action=f"backoffice.{action_name}")
    if not in_scope:
        assert response.status_code == 404
        assert not scenario.done()
        assert not AuditEvent.objects.filter(action__startswith="backoffice.").exclude(
            action="backoffice.staff.created"
        )
    elif role_scope_allows(role, scope, action.permission):
        assert response.status_code == 302, response.content.decode()[:2000]
        assert scenario.done()
        event = events.get()
        assert event.customer_id == scenario.customer.pk
        # A card's row is its bank's; a row about the person, the acting staff member's bank (none: the group).
        expected_bank = scenario.card.bank_id if scenario.card is not None else person.member.bank_id
        assert event.bank_id == expected_bank
    else:
        assert response.status_code == 403
        assert not scenario.done()
        assert not events.exists()
