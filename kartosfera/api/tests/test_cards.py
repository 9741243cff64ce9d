from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from kartosfera.accounts.models import AccountKind
from kartosfera.api.tests.conftest import audit_rows, errors_by_field
from kartosfera.cards.models import Brand, Card
from kartosfera.cards.operations_services import card_activate, card_block_temporarily
from kartosfera.cards.pan import decrypt_pan
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType
from kartosfera.testing.factories import account_factory, card_factory, customer_factory, make_pan, product_factory

pytestmark = pytest.mark.django_db

PAN = make_pan("400000", 777_001)


@pytest.fixture
def setup(db):
    customer = customer_factory(reference="CIF-CARD-1", first_name="Anna", last_name="Nowak")
    product = product_factory(code="VISA-DEBIT", brand=Brand.VISA)
    account = account_factory(customer=customer, reference="ACC-CARD-1", kind=AccountKind.DEBIT)
    return customer, product, account


def issue_body(**overrides):
    body = {
        "reference": "CARD-1",
        "product": "VISA-DEBIT",
        "account": "ACC-CARD-1",
        "customer": "CIF-CARD-1",
        "pan": PAN,
        "embossed_name": "Anna Nowak",
    }
    body.update(overrides)
    return body


def test_the_bank_issues_a_card_and_gets_only_the_last_four_digits_back(bank, setup):
    customer, product, account = setup

    response = bank.post("/cards", issue_body())

    assert response.status_code == 201, response.json()
    card = Card.objects.get(reference="CARD-1")
    assert (card.customer, card.product, card.account) == (customer, product, account)
    assert decrypt_pan(card.pan_ciphertext) == PAN
    assert (card.status, card.embossed_name, card.pan_last4) == (CardStatus.INACTIVE, "ANNA NOWAK", PAN[-4:])
    body = response.json()
    assert body["last4"] == PAN[-4:]
    assert (body["customer"], body["account"], body["product"]) == ("CIF-CARD-1", "ACC-CARD-1", "VISA-DEBIT")
    assert (body["status"], body["status_reason"], body["currency"]) == ("inactive", "issued", "PLN")
    assert (body["cash_limit_minor"], body["cash_limit_max_minor"], body["internet_limit_minor"]) == (
        200_000,
        1_000_000,
        0,
    )
    assert body["replaces"] is None and body["replaced_by"] is None
    assert PAN not in response.content.decode()
    [row] = audit_rows(bank.api_key, "cards.card.issued")
    assert row.customer_id == customer.pk and row.after["last4"] == PAN[-4:]


def test_an_explicit_expiry_means_the_end_of_that_month(bank, setup):
    expiry = dt.date(timezone.localdate().year + 3, 2, 3)

    response = bank.post("/cards", issue_body(expiry=expiry.isoformat()))

    assert response.status_code == 201, response.json()
    assert response.json()["expiry"] == f"{expiry.year}-02-{28 if expiry.year % 4 else 29}"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"pan": PAN[:-1] + str((int(PAN[-1]) + 1) % 10)}, "pan"),  # fails Luhn
        ({"pan": "4000"}, "pan"),
        ({"pan": make_pan("555555", 1)}, "pan"),  # a Mastercard number for a Visa product
        ({"pan": 4000000000000002}, "pan"),  # a number, not a string
        ({"product": "NO-SUCH"}, "product"),
        ({"account": "NO-SUCH"}, "account"),
        ({"customer": "NO-SUCH"}, "customer"),
        ({"embossed_name": ""}, "embossed_name"),
        ({"embossed_name": "A" * 27}, "embossed_name"),
        ({"embossed_name": "ß" * 26}, "embossed_name"),  # 52 letters once embossed in upper case
        ({"issued_on": "2999-01-01"}, "issued_on"),
        ({"expiry": "2001-01-01"}, "expiry"),
        ({"expiry": "01/30"}, "expiry"),
        ({"reference": ""}, "reference"),
        ({"cvv": "123"}, "cvv"),  # unknown fields are refused, never stored
    ],
)
def test_an_invalid_issue_is_refused_with_the_field_named(bank, setup, overrides, field):
    response = bank.post("/cards", issue_body(**overrides))

    assert response.status_code == 422, response.json()
    assert field in errors_by_field(response)
    assert not Card.objects.filter(reference="CARD-1").exists()
    assert audit_rows(bank.api_key, "cards.card.issued") == []


def test_a_card_issued_before_provisioning_counts_its_validity_from_the_issue_date(bank, setup):
    issued_on = timezone.localdate().replace(day=1) - dt.timedelta(days=365)

    response = bank.post("/cards", issue_body(issued_on=issued_on.isoformat()))

    assert response.status_code == 201, response.json()
    card = Card.objects.get(reference="CARD-1")
    assert card.expiry.year == issued_on.year + 4 and card.expiry.month == issued_on.month
    [row] = audit_rows(bank.api_key, "cards.card.issued")
    assert row.after["issued_on"] == issued_on.isoformat()


def test_a_credit_card_cannot_draw_on_a_debit_account(bank, setup):
    product_factory(code="MC-CREDIT", brand=Brand.MASTERCARD, funding="credit")

    response = bank.post("/cards", issue_body(product="MC-CREDIT", pan=make_pan("555555", 2)))

    assert response.status_code == 422
    assert "account" in errors_by_field(response)


def test_an_individual_card_goes_to_the_account_owner_only(bank, setup):
    customer_factory(reference="CIF-OTHER")

    response = bank.post("/cards", issue_body(customer="CIF-OTHER"))

    assert response.status_code == 422
    assert "customer" in errors_by_field(response)


def test_a_card_number_held_by_another_customer_is_a_conflict(bank, setup):
    card_factory(customer=customer_factory(), product=setup[1], pan=PAN)

    response = bank.post("/cards", issue_body())

    assert response.status_code == 409
    assert not Card.objects.filter(reference="CARD-1").exists()


def test_a_second_card_with_the_same_reference_is_a_conflict(bank, setup):
    customer, product, account = setup
    card_factory(customer=customer, product=product, account=account, reference="CARD-1")

    assert bank.post("/cards", issue_body()).status_code == 409


def test_the_bank_reads_a_card(bank, setup):
    customer, product, account = setup
    card_factory(customer=customer, product=product, account=account, reference="CARD-READ", pan=PAN)

    response = bank.get("/cards/CARD-READ")

    assert response.status_code == 200
    assert response.json()["last4"] == PAN[-4:]
    assert PAN not in response.content.decode()


def test_an_unknown_card_is_404(bank):
    assert bank.get("/cards/NO-SUCH").status_code == 404
    assert bank.post("/cards/NO-SUCH/renew", {"reference": "CARD-R"}).status_code == 404
    assert bank.post("/cards/NO-SUCH/replace", {"reference": "CARD-R", "pan": PAN}).status_code == 404


def test_the_bank_renews_a_card_keeping_its_number(bank, setup):
    customer, product, account = setup
    old = card_factory(customer=customer, product=product, account=account, reference="CARD-OLD", pan=PAN)

    response = bank.post("/cards/CARD-OLD/renew", {"reference": "CARD-RENEWED"})

    assert response.status_code == 201, response.json()
    renewal = Card.objects.get(reference="CARD-RENEWED")
    assert renewal.replaces == old and renewal.expiry > old.expiry
    assert decrypt_pan(renewal.pan_ciphertext) == PAN
    assert (renewal.status, renewal.status_reason) == (CardStatus.INACTIVE, StatusReason.RENEWAL_ISSUED)
    old.refresh_from_db()
    assert old.status == CardStatus.INACTIVE, "the old card keeps working until the renewal is activated"
    body = response.json()
    assert (body["reference"], body["replaces"], body["last4"]) == ("CARD-RENEWED", "CARD-OLD", PAN[-4:])
    assert bank.get("/cards/CARD-OLD").json()["replaced_by"] == "CARD-RENEWED"
    [row] = audit_rows(bank.api_key, "cards.card.issued")
    assert row.after["replaces"] == "CARD-OLD"


def test_a_renewed_card_cannot_be_renewed_twice(bank, setup):
    customer, product, account = setup
    card_factory(customer=customer, product=product, account=account, reference="CARD-OLD")
    assert bank.post("/cards/CARD-OLD/renew", {"reference": "CARD-R1"}).status_code == 201

    response = bank.post("/cards/CARD-OLD/renew", {"reference": "CARD-R2"})

    assert response.status_code == 409
    assert not Card.objects.filter(reference="CARD-R2").exists()


def test_the_bank_replaces_a_card_with_a_new_number(bank, setup):
    customer, product, account = setup
    old = card_factory(customer=customer, product=product, account=account, reference="CARD-OLD")
    new_pan = make_pan("400000", 777_002)

    response = bank.post("/cards/CARD-OLD/replace", {"reference": "CARD-NEW", "pan": new_pan})

    assert response.status_code == 201, response.json()
    new = Card.objects.get(reference="CARD-NEW")
    assert new.replaces == old and decrypt_pan(new.pan_ciphertext) == new_pan
    assert new.status_reason == StatusReason.REPLACEMENT_ISSUED
    old.refresh_from_db()
    assert (old.status, old.status_reason) == (CardStatus.CANCELLED, StatusReason.REPLACED)
    assert response.json()["last4"] == new_pan[-4:]
    assert new_pan not in response.content.decode()
    assert len(audit_rows(bank.api_key, "cards.card.cancelled")) == 1
    assert len(audit_rows(bank.api_key, "cards.card.issued")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reference": "CARD-NEW"}, "pan"),  # a replacement needs a number
        ({"reference": "CARD-NEW", "pan": "4000000000000001"}, "pan"),  # fails Luhn
        ({"reference": "CARD-NEW", "pan": PAN}, "pan"),  # the old number
    ],
)
def test_an_invalid_replacement_leaves_the_old_card_alone(bank, setup, body, field):
    customer, product, account = setup
    old = card_factory(customer=customer, product=product, account=account, reference="CARD-OLD", pan=PAN)

    response = bank.post("/cards/CARD-OLD/replace", body)

    assert response.status_code == 422, response.json()
    assert field in errors_by_field(response)
    old.refresh_from_db()
    assert old.status == CardStatus.INACTIVE
    assert not Card.objects.filter(reference="CARD-NEW").exists()


def test_the_card_resource_reads_a_block_older_than_60_days_as_cancelled_before_the_job(bank, setup):
    customer, product, _account = setup
    card = card_activate(actor=Actor.system("tests"), card=card_factory(customer=customer, product=product))
    holder = Actor(type=ActorType.CUSTOMER, id="0", label="tests")
    blocked_at = (timezone.now() - dt.timedelta(days=61)).replace(microsecond=0)  # the API writes milliseconds
    with time_machine.travel(blocked_at, tick=False):
        card_block_temporarily(actor=holder, card=card)

    body = bank.get(f"/cards/{card.reference}").json()

    assert (body["status"], body["status_reason"]) == ("cancelled", "block_expired")
    assert dt.datetime.fromisoformat(body["status_changed_at"]) == blocked_at + dt.timedelta(days=60)
    assert bank.post(f"/cards/{card.reference}/renew", {"reference": "RENEW-LAPSED"}).status_code == 409
