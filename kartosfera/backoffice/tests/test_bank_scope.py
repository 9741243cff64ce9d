"""The bank boundary in the back office: a bank's staff reach only their bank's customers, cards and events.

Bank secrecy (Prawo bankowe art. 104) makes it a security boundary, so the URL test below is generated
from the back office's URL map: a new URL that takes an object is covered without editing this file.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.http import Http404
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone

from kartosfera.acs.models import AuthenticationRecord
from kartosfera.acs.tests import records
from kartosfera.backoffice import urls as backoffice_urls
from kartosfera.backoffice.accounts import STAFF_OPERATIONS
from kartosfera.backoffice.actions import ACTIONS
from kartosfera.backoffice.models import StaffEnrolment, StaffMember
from kartosfera.backoffice.selectors import ActivityFilter, customer_search, staff_activity
from kartosfera.backoffice.services import authorization_review, caller_verify, staff_action_perform
from kartosfera.backoffice.tests.helpers import (
    action_post_data,
    card_action_url,
    customer_action_url,
    phone_verify,
    verification_planted,
)
from kartosfera.banks.models import Bank
from kartosfera.banks.scope import BankScope
from kartosfera.cards.models import Card
from kartosfera.cards.states import CardStatus
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer
from kartosfera.customers.services import customer_create
from kartosfera.processing.advices import advice_record
from kartosfera.processing.models import Authorization, AuthorizationReview
from kartosfera.processing.tests.helpers import PROCESSOR, card_of, decide, request_for
from kartosfera.secure3d.models import ThreeDSProfile
from kartosfera.statements.models import Statement
from kartosfera.statements.tests.documents_helpers import statement_of_a_busy_month
from kartosfera.testing import factories
from kartosfera.testing.staff import StaffPerson, staff_client, staff_person_create
from kartosfera.users.models import Passkey, User

pytestmark = pytest.mark.django_db

SYSTEM = factories.SYSTEM


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def stand_in(tc) -> Authorization:
    """A payment the scheme approved in stand-in: flagged for review."""
    request = request_for(tc, amount_minor=500_000, channel="atm", mcc="6011", merchant_name="Bankomat Euronet")
    return advice_record(actor=PROCESSOR, request=request, approved=True, response_code="00").authorization


@pytest.fixture
def bank_a() -> Bank:
    return factories.bank_factory()


@pytest.fixture
def bank_b() -> Bank:
    return factories.bank_factory("BANKB", short_name="BS Beta")


@pytest.fixture
def product_a(bank_a):
    return factories.product_factory(bank=bank_a, code="A-DEBIT")


@pytest.fixture
def product_b(bank_b):
    return factories.product_factory(bank=bank_b, code="B-DEBIT")


@pytest.fixture
def b_only(bank_b, product_b):
    """Celina, a customer of bank B only, registered in the portal, with a card and a flagged payment."""
    customer = factories.customer_factory(
        bank=bank_b, reference="B-000777", first_name="Celina", last_name="Zielińska", phone_on_file="+48600700800"
    )
    user = factories.cardholder_user_factory(customer=customer)
    tc = card_of(customer, product_b, balance_minor=10_000)
    records.answered(tc)  # a 3-D Secure authentication of the card
    statement_of_a_busy_month(customer=customer, bank=bank_b)  # and a credit card's statement
    return customer, user, tc.card, stand_in(tc)


@pytest.fixture
def shared(bank_a, bank_b, product_a, product_b):
    """Dorota, a customer of both banks (one person, one portal login), with a card at each."""
    customer = factories.customer_factory(bank=bank_a, reference="A-000123", first_name="Dorota", last_name="Kowal")
    joined = customer_create(
        actor=SYSTEM,
        bank=bank_b,
        reference="B-000456",
        residency=customer.residency,
        first_name=customer.first_name,
        last_name=customer.last_name,
        pesel=customer.pesel,
        phone_on_file=customer.phone_on_file,
    )
    assert joined.pk == customer.pk
    user = factories.cardholder_user_factory(customer=customer)
    card_a = card_of(customer, product_a, balance_minor=10_000)
    card_b = card_of(customer, product_b, balance_minor=10_000)
    return customer, user, card_a, card_b


@pytest.fixture
def branch_a(bank_a) -> StaffPerson:
    return staff_person_create("branch", username="branch-a", full_name="Piotr Okienko", bank=bank_a)


@pytest.fixture
def supervisor_a(bank_a) -> StaffPerson:
    return staff_person_create("supervisor", username="supervisor-a", full_name="Maria Alfa", bank=bank_a)


@pytest.fixture
def supervisor_b(bank_b) -> StaffPerson:
    return staff_person_create("supervisor", username="supervisor-b", full_name="Zofia Beta", bank=bank_b)


@pytest.fixture
def group_supervisor() -> StaffPerson:
    return staff_person_create("supervisor", username="supervisor-group", full_name="Jan Grupowy")


@pytest.fixture
def group_agent() -> StaffPerson:
    return staff_person_create("agent", username="agent-group", full_name="Ewa Konsultant")


# --- Every URL of another bank's customer is 404 ------------------------------------------------


def _object_urls(customer: Customer, card: Card, authorization: Authorization) -> list[tuple[str, str]]:
    """(name, path) of every back-office URL that takes an object, filled with the given customer's objects.

    Generated from the URL map; a URL whose parameters this does not know how to fill fails the test,
    so that a new one cannot escape it. A staff member of the card's bank fills the staff account URLs.
    """
    authentication = AuthenticationRecord.objects.get(card=card)
    colleague = staff_person_create("branch", username=f"branch-of-{card.bank_id}", bank=card.bank)
    values = {
        "customer_id": customer.pk,
        "card_id": card.pk,
        "authorization_id": authorization.pk,
        "acs_trans_id": authentication.acs_trans_id,
        "statement_id": Statement.objects.get(customer=customer).pk,
        "member_id": colleague.member.pk,
        # A staff member's own passkey: 404 to everybody but its owner, whatever their bank (test_idor.py).
        "public_id": Passkey.objects.create(
            user=colleague.user, credential_id=f"scope-{card.bank_id}", public_key=b"\x00", name="Klucz"
        ).public_id,
    }
    urls: list[tuple[str, str]] = []
    for pattern in backoffice_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        params = set(pattern.pattern.converters)
        if not params or params == {"token"}:
            # The enrolment link holds no bank's object: a token that is not an open link is 404 for
            # anybody (test_staff_accounts.py).
            continue
        assert params <= {*values, "action_name", "operation"}, f"fill the parameters of {pattern.name}: {params}"
        kwargs = {name: values[name] for name in params if name not in {"action_name", "operation"}}
        if "operation" in params:
            for operation in STAFF_OPERATIONS:
                path = reverse(f"backoffice:{pattern.name}", kwargs={**kwargs, "operation": operation})
                urls.append((f"{pattern.name}:{operation}", path))
        elif "action_name" in params:
            on_card = "card_id" in params
            for action in ACTIONS.values():
                if action.on_card == on_card:
                    path = reverse(f"backoffice:{pattern.name}", kwargs={**kwargs, "action_name": action.name})
                    urls.append((f"{pattern.name}:{action.name}", path))
        else:
            urls.append((str(pattern.name), reverse(f"backoffice:{pattern.name}", kwargs=kwargs)))
    return urls


def _request(client: Client, path: str):
    """GET the URL, or POST it when it takes POST only."""
    response = client.get(path)
    return client.post(path, {}) if response.status_code == 405 else response


@pytest.mark.parametrize("role", ["branch", "supervisor", "auditor"])
def test_a_banks_staff_get_404_for_every_url_of_another_banks_customer(role, bank_a, b_only):
    """Bank A's staff, whatever their role, reach nothing of bank B's customer; nothing is done or recorded.

    A role that lacks a URL's permission altogether is refused (403) before the object is looked at,
    the same for every object; the bank's supervisor, who has every permission, gets 404 on all of them.
    """
    customer, _user, card, authorization = b_only
    person = staff_person_create(role, username=f"{role}-a", bank=bank_a)
    verification_planted(person, customer)  # even a valid verification reaches nothing
    events_before = AuditEvent.objects.filter(customer_id=customer.pk).count()
    card_before = Card.objects.values_list("status", "wrong_pin_count").get(pk=card.pk)
    client = staff_client(person)
    urls = _object_urls(customer, card, authorization)
    assert len(urls) >= 5 + len(ACTIONS)

    for name, path in urls:
        status = _request(client, path).status_code
        if role == "supervisor":
            assert status == 404, name
        else:
            assert status in {403, 404}, name
            assert status == 404 or name.startswith(
                ("authorization_review", "verify", "statement_correct", "staff_account_action")
            ), name

    assert AuditEvent.objects.filter(customer_id=customer.pk).count() == events_before
    assert Card.objects.values_list("status", "wrong_pin_count").get(pk=card.pk) == card_before
    assert not AuthorizationReview.objects.exists()
    assert not User.objects.get(pk=_user.pk).is_access_blocked
    assert not User.objects.filter(is_active=False).exists() and not StaffEnrolment.objects.exists()


def test_the_same_urls_serve_the_groups_staff(group_supervisor, b_only):
    """The control: the generated URLs are real ones, which the group's supervisor reaches (no 404)."""
    customer, _user, card, authorization = b_only
    client = staff_client(group_supervisor)

    for name, path in _object_urls(customer, card, authorization):
        if name == "passkey_remove":
            continue  # the colleague's own passkey: only its owner reaches it, the group's supervisor too gets 404
        assert _request(client, path).status_code != 404, name


# --- A customer of both banks -------------------------------------------------------------------


def test_a_banks_staff_see_only_their_banks_part_of_a_shared_customer(branch_a, shared):
    customer, _user, card_a, card_b = shared

    response = staff_client(branch_a).get(reverse("backoffice:customer", args=[customer.pk]))

    assert response.status_code == 200
    assert [card.pk for card, _actions in response.context["cards"]] == [card_a.card.pk]
    text = _text(response)
    assert card_a.card.masked_number in text
    assert card_b.card.masked_number not in text
    assert [m.customer_number for m in response.context["file"].memberships] == ["A-000123"]
    assert "A-000123" in text
    assert "B-000456" not in text


def test_the_person_s_portal_access_and_3ds_are_visible_to_both_banks(branch_a, supervisor_b, shared):
    customer, user, _card_a, _card_b = shared
    ThreeDSProfile.objects.create(customer=customer, locked_until=timezone.now() + dt.timedelta(hours=2))

    for person in (branch_a, supervisor_b):
        file = staff_client(person).get(reverse("backoffice:customer", args=[customer.pk])).context["file"]
        assert file.portal_user == user
        assert file.threeds_locked


def test_the_groups_staff_see_both_banks_cards_and_numbers(group_agent, shared, bank_a, bank_b):
    customer, _user, card_a, card_b = shared

    response = staff_client(group_agent).get(reverse("backoffice:customer", args=[customer.pk]))

    assert {card.pk for card, _actions in response.context["cards"]} == {card_a.card.pk, card_b.card.pk}
    memberships = [(m.bank.short_name, m.customer_number) for m in response.context["file"].memberships]
    assert sorted(memberships) == sorted([(bank_a.short_name, "A-000123"), (bank_b.short_name, "B-000456")])
    text = _text(response)
    assert "A-000123" in text
    assert "B-000456" in text
    # Each card says whose it is.
    assert response.content.decode().count('class="card-bank"') == 2
    assert bank_b.short_name in text


def test_another_banks_card_of_a_shared_customer_is_404_and_untouched(branch_a, shared):
    customer, _user, _card_a, card_b = shared
    phone_verify(branch_a, customer)
    client = staff_client(branch_a)

    assert client.get(reverse("backoffice:card_history", args=[customer.pk, card_b.card.pk])).status_code == 404
    response = client.post(card_action_url(card_b.card, "card_block"), action_post_data("card_block", card_b.card))

    assert response.status_code == 404
    assert Card.objects.get(pk=card_b.card.pk).status == CardStatus.ACTIVE
    assert not AuditEvent.objects.filter(action__in=["backoffice.card_block", "backoffice.action_refused"]).exists()


def test_a_banks_staff_act_on_their_banks_card_of_a_shared_customer(branch_a, bank_a, shared):
    customer, _user, card_a, _card_b = shared
    phone_verify(branch_a, customer)

    response = staff_client(branch_a).post(
        card_action_url(card_a.card, "card_block"), action_post_data("card_block", card_a.card)
    )

    assert response.status_code == 302
    assert Card.objects.get(pk=card_a.card.pk).status == CardStatus.BLOCKED
    assert AuditEvent.objects.get(action="backoffice.card_block").bank_id == bank_a.pk


def test_the_service_refuses_another_banks_customer_and_card(branch_a, shared, b_only):
    """staff_action_perform checks the scope itself: 404 before anything is done, even with a verification."""
    customer, _user, _card_a, card_b = shared
    verification = verification_planted(branch_a, customer)
    with pytest.raises(Http404):
        staff_action_perform(
            staff=branch_a.user,
            action_name="card_block",
            customer=customer,
            verification=verification,
            reason="Because",
            card=card_b.card,
        )
    other, _other_user, _card, _authorization = b_only
    with pytest.raises(Http404):
        staff_action_perform(
            staff=branch_a.user,
            action_name="portal_block",
            customer=other,
            verification=verification_planted(branch_a, other),
            reason="Because",
        )
    with pytest.raises(Http404):
        caller_verify(staff=branch_a.user, customer=other, channel="phone", identifier=other.pesel or "")

    assert Card.objects.get(pk=card_b.card.pk).status == CardStatus.ACTIVE
    assert not AuditEvent.objects.filter(action__startswith="backoffice.").exclude(action="backoffice.staff.created")


def test_a_callers_last_digits_are_compared_with_the_banks_own_cards(branch_a, shared):
    """Bank A's employee cannot learn of bank B's card by trying its last digits on the caller."""
    customer, _user, _card_a, card_b = shared

    verification = caller_verify(
        staff=branch_a.user,
        customer=customer,
        channel="phone",
        identifier=customer.pesel or "",
        card_last4=card_b.card.pan_last4,
        calling_number=customer.phone_on_file or "",
    )

    assert not verification.passed
    assert "card_last4" in verification.checks_failed


# --- Search ---------------------------------------------------------------------------------------


def test_search_finds_only_the_banks_customers(bank_a, bank_b, shared, b_only):
    customer, _user, card_a, card_b = shared
    other = b_only[0]
    in_a = BankScope.of(bank_a)

    assert customer_search(query=other.pesel, scope=in_a) == []
    assert customer_search(query="Zielińska", scope=in_a) == []
    assert customer_search(query="B-000777", scope=in_a) == []
    assert customer_search(query=customer.pesel, scope=in_a) == [customer]
    # The bank's own number finds the person; another bank's number of the same person does not.
    assert customer_search(query="a-000123", scope=in_a) == [customer]
    assert customer_search(query="B-000456", scope=in_a) == []
    # The last digits of another bank's card find nobody.
    if card_b.card.pan_last4 != card_a.card.pan_last4:
        assert customer_search(query=card_b.card.pan_last4, scope=in_a) == []
    assert customer_search(query=card_a.card.pan_last4, scope=in_a) == [customer]
    found = customer_search(query=customer.pesel, scope=in_a)[0]
    assert [m.customer_number for m in found.scoped_memberships] == ["A-000123"]


def test_the_group_searches_every_banks_numbers(shared, b_only):
    customer = shared[0]
    group = BankScope.group()

    assert customer_search(query="B-000456", scope=group) == [customer]
    assert customer_search(query="A-000123", scope=group) == [customer]
    assert customer_search(query="B-000777", scope=group) == [b_only[0]]
    assert {m.customer_number for m in customer_search(query=customer.pesel, scope=group)[0].scoped_memberships} == {
        "A-000123",
        "B-000456",
    }


def test_the_search_page_shows_the_banks_number(branch_a, shared):
    customer = shared[0]

    response = staff_client(branch_a).post(reverse("backoffice:home"), {"q": customer.pesel})

    assert response.context["results"] == [customer]
    text = _text(response)
    assert "A-000123" in text
    assert "B-000456" not in text


# --- The customer's trail and the staff activity log ----------------------------------------------


def test_the_customer_trail_shows_the_banks_and_the_persons_events_only(
    group_agent, branch_a, supervisor_b, bank_a, bank_b, shared
):
    customer, _user, card_a, card_b = shared
    phone_verify(group_agent, customer)
    agent = staff_client(group_agent)
    for card in (card_a.card, card_b.card):
        assert agent.post(card_action_url(card, "card_block"), action_post_data("card_block", card)).status_code == 302
    assert (
        agent.post(customer_action_url(customer, "portal_block"), action_post_data("portal_block")).status_code == 302
    )
    by_bank = dict(AuditEvent.objects.filter(action="backoffice.card_block").values_list("object_id", "bank_id"))
    assert by_bank == {str(card_a.card.pk): bank_a.pk, str(card_b.card.pk): bank_b.pk}

    response = staff_client(branch_a).get(reverse("backoffice:customer_trail", args=[customer.pk]))

    events = [row.event for row in response.context["rows"]]
    assert {e.bank_id for e in events} <= {bank_a.pk, None}
    assert [e.object_id for e in events if e.action == "backoffice.card_block"] == [str(card_a.card.pk)]
    assert any(e.action == "backoffice.portal_block" for e in events)  # the person's: both banks see it
    # Bank A's look at the file is bank A's: bank B's staff do not see it.
    b_events = staff_client(supervisor_b).get(reverse("backoffice:customer_trail", args=[customer.pk]))
    b_rows = [row.event for row in b_events.context["rows"]]
    assert not [e for e in b_rows if e.actor_id == str(branch_a.user.pk)]
    assert [e.object_id for e in b_rows if e.action == "backoffice.card_block"] == [str(card_b.card.pk)]


def test_the_activity_log_is_scoped_to_the_bank(group_agent, branch_a, supervisor_a, supervisor_b, shared, b_only):
    customer, _user, card_a, card_b = shared
    other = b_only[0]
    phone_verify(group_agent, customer)
    phone_verify(group_agent, other)
    agent = staff_client(group_agent)
    for card in (card_a.card, card_b.card):
        agent.post(card_action_url(card, "card_block"), action_post_data("card_block", card))
    agent.get(reverse("backoffice:customer", args=[other.pk]))  # bank-less, of a customer of bank B only
    staff_client(branch_a).get(reverse("backoffice:customer", args=[customer.pk]))  # bank A's

    a_events = list(staff_activity(filters=ActivityFilter(), scope=supervisor_a.member.scope))
    b_events = list(staff_activity(filters=ActivityFilter(), scope=supervisor_b.member.scope))
    all_events = list(staff_activity(filters=ActivityFilter(), scope=BankScope.group()))

    card_blocks = {e.object_id for e in a_events if e.action == "backoffice.card_block"}
    assert card_blocks == {str(card_a.card.pk)}
    assert other.pk not in {e.customer_id for e in a_events}
    assert any(e.actor_id == str(branch_a.user.pk) for e in a_events)
    assert {e.object_id for e in b_events if e.action == "backoffice.card_block"} == {str(card_b.card.pk)}
    assert other.pk in {e.customer_id for e in b_events}
    assert not any(e.actor_id == str(branch_a.user.pk) for e in b_events)
    assert len(all_events) > max(len(a_events), len(b_events))
    assert {e.pk for e in a_events} | {e.pk for e in b_events} <= {e.pk for e in all_events}


def test_the_activity_pages_staff_filter_lists_the_banks_staff_only(supervisor_a, branch_a, supervisor_b, group_agent):
    response = staff_client(supervisor_a).get(reverse("backoffice:activity"))

    offered = {value for value, _label in response.context["form"].fields["staff"].choices if value}
    assert offered == {supervisor_a.user.pk, branch_a.user.pk}
    refused = staff_client(supervisor_a).get(reverse("backoffice:activity"), {"staff": supervisor_b.user.pk})
    assert refused.context["form"].errors
    group = staff_client(staff_person_create("auditor", username="auditor-group")).get(reverse("backoffice:activity"))
    assert {supervisor_b.user.pk, group_agent.user.pk} <= {
        value for value, _label in group.context["form"].fields["staff"].choices if value
    }


def test_a_banks_staff_sign_ins_are_their_banks_events(supervisor_a, branch_a, bank_a):
    from kartosfera.backoffice.auth import staff_logout_record

    staff_logout_record(user=branch_a.user)

    event = AuditEvent.objects.get(action="backoffice.staff.signed_out")
    assert event.bank_id == bank_a.pk
    assert event in staff_activity(filters=ActivityFilter(), scope=supervisor_a.member.scope)


# --- The review queue -----------------------------------------------------------------------------


def test_the_review_queue_shows_the_banks_cards_payments_only(supervisor_a, group_supervisor, shared, bank_a):
    _customer, _user, card_a, card_b = shared
    mine, theirs = stand_in(card_a), stand_in(card_b)

    a_queue = staff_client(supervisor_a).get(reverse("backoffice:review_queue"))
    group_queue = staff_client(group_supervisor).get(reverse("backoffice:review_queue"))

    assert [row.authorization.pk for row in a_queue.context["rows"]] == [mine.pk]
    assert {row.authorization.pk for row in group_queue.context["rows"]} == {mine.pk, theirs.pk}


def test_another_banks_payment_cannot_be_reviewed(supervisor_a, shared, bank_a, bank_b):
    _customer, _user, card_a, card_b = shared
    mine, theirs = stand_in(card_a), stand_in(card_b)
    client = staff_client(supervisor_a)

    refused = client.post(
        reverse("backoffice:authorization_review", args=[theirs.pk]), {f"review-{theirs.pk}-note": ""}
    )
    done = client.post(reverse("backoffice:authorization_review", args=[mine.pk]), {f"review-{mine.pk}-note": ""})

    assert refused.status_code == 404
    assert done.status_code == 302
    assert list(AuthorizationReview.objects.values_list("authorization_id", flat=True)) == [mine.pk]
    with pytest.raises(Http404):
        authorization_review(staff=supervisor_a.user, authorization=theirs)
    # Both audit rows of the review carry the card's bank.
    reviewed = AuditEvent.objects.filter(
        action__in=["processing.authorization.reviewed", "backoffice.authorization_reviewed"]
    )
    assert {e.bank_id for e in reviewed} == {bank_a.pk}
    assert reviewed.count() == 2


# --- Audit rows of the card core carry the card's bank --------------------------------------------


def test_authorization_audit_rows_carry_the_cards_bank(shared, bank_b):
    _customer, _user, _card_a, card_b = shared

    decision = decide(card_b)
    flagged = stand_in(card_b)

    decided = AuditEvent.objects.get(object_type="processing.authorization", object_id=str(decision.authorization.pk))
    advised = AuditEvent.objects.filter(object_type="processing.authorization", object_id=str(flagged.pk)).get()
    assert decided.bank_id == bank_b.pk
    assert advised.bank_id == bank_b.pk


# --- The header and the staff-creation command ----------------------------------------------------


def test_the_header_shows_the_bank_or_the_group(branch_a, group_agent, bank_a):
    bank_page = staff_client(branch_a).get(reverse("backoffice:home"))
    group_page = staff_client(group_agent).get(reverse("backoffice:home"), HTTP_ACCEPT_LANGUAGE="pl")

    assert f'<span class="header-bank">{bank_a.short_name}</span>' in bank_page.content.decode()
    assert '<span class="header-bank">Grupa</span>' in group_page.content.decode()


def _never_asked(prompt: str = "") -> str:
    raise AssertionError("create_staff_user must not ask anybody for the employee's password")


def _create(monkeypatch, *args: str) -> str:
    monkeypatch.setattr("getpass.getpass", _never_asked)
    out = io.StringIO()
    call_command("create_staff_user", *args, "--phone", "+48601000222", stdout=out)
    return out.getvalue()


def test_create_staff_user_takes_the_bank(monkeypatch, bank_b):
    output = _create(monkeypatch, "jan.beta", "--name", "Jan Beta", "--role", "branch", "--bank", "bankb")

    member = StaffMember.objects.get(user__username="jan.beta")
    assert member.bank == bank_b
    assert "BS Beta (BANKB)" in output


def test_create_staff_user_without_a_bank_is_the_groups(monkeypatch):
    _create(monkeypatch, "ewa.grupa", "--name", "Ewa Grupa", "--role", "supervisor")

    assert StaffMember.objects.get(user__username="ewa.grupa").bank is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "branch", "--bank", "NOPE"], "No bank has the code 'NOPE'"),
        (["--role", "branch"], "works for one bank: give --bank CODE"),
        (["--role", "agent", "--bank", "BANKB"], "the group's staff, not a bank's: leave out --bank"),
    ],
)
def test_create_staff_user_explains_a_wrong_bank(monkeypatch, bank_b, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        _create(monkeypatch, "kto", "--name", "Kto Ktoś", *args)

    assert not StaffMember.objects.filter(user__username="kto").exists()
