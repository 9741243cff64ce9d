from __future__ import annotations

import datetime as dt

import pytest

from kartosfera.api.tests.conftest import audit_rows, errors_by_field
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer, Residency
from kartosfera.testing.factories import customer_factory, make_pesel

pytestmark = pytest.mark.django_db

PESEL = make_pesel(dt.date(1985, 3, 14), 501, female=True)


def resident(**overrides):
    body = {
        "reference": "CIF-500001",
        "residency": "resident",
        "first_name": "Anna",
        "last_name": "Nowak",
        "pesel": PESEL,
        "phone_on_file": "600 100 200",
    }
    body.update(overrides)
    return body


def test_the_bank_creates_a_resident_customer(bank):
    response = bank.post("/customers", resident())

    assert response.status_code == 201
    customer = Customer.objects.get(reference="CIF-500001")
    assert customer.pesel == PESEL
    assert customer.birth_date == dt.date(1985, 3, 14)
    assert customer.phone_on_file == "+48600100200"
    assert response.json() == {
        "reference": "CIF-500001",
        "residency": "resident",
        "pesel": PESEL,
        "nonresident_id": None,
        "first_name": "Anna",
        "last_name": "Nowak",
        "birth_date": "1985-03-14",
        "phone_on_file": "+48600100200",
        "created_at": response.json()["created_at"],
        "updated_at": response.json()["updated_at"],
    }
    assert bank.get("/customers/CIF-500001").content == response.content
    [row] = audit_rows(bank.api_key, "customers.customer.created")
    assert row.object_id == str(customer.pk) and row.customer_id == customer.pk
    assert PESEL not in str(row.after) and "+48600100200" not in str(row.after)


def test_the_bank_creates_a_non_resident_customer_without_a_pesel(bank):
    response = bank.post(
        "/customers",
        {
            "reference": "CIF-NR-1",
            "residency": "non_resident",
            "first_name": "John",
            "last_name": "Smith",
            "nonresident_id": "nr-778899",
            "birth_date": "1970-01-02",
        },
    )

    assert response.status_code == 201, response.json()
    customer = Customer.objects.get(reference="CIF-NR-1")
    assert (customer.residency, customer.pesel, customer.nonresident_id) == (Residency.NON_RESIDENT, None, "NR-778899")
    assert customer.phone_on_file is None
    assert len(audit_rows(bank.api_key, "customers.customer.created")) == 1


@pytest.mark.parametrize(
    ("pesel", "field_message_code"),
    [
        ("85031412345", "pesel"),  # wrong check digit
        ("1234", "pesel"),  # too short
        ("85133112345", "pesel"),  # month 13 does not exist
        ("", "pesel"),  # a resident needs one
    ],
)
def test_an_invalid_pesel_is_refused_with_a_message_on_the_field(bank, pesel, field_message_code):
    response = bank.post("/customers", resident(pesel=pesel), **{"Accept-Language": "en"})

    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert "PESEL" in errors_by_field(response)[field_message_code]
    assert not Customer.objects.filter(reference="CIF-500001").exists()
    assert not AuditEvent.objects.filter(action="customers.customer.created", actor_id=bank.api_key.prefix).exists()


def test_the_error_messages_follow_accept_language(bank):
    english = errors_by_field(bank.post("/customers", resident(pesel="85031412345"), **{"Accept-Language": "en"}))
    polish = errors_by_field(bank.post("/customers", resident(pesel="85031412345"), **{"Accept-Language": "pl"}))

    assert english["pesel"] == "PESEL check digit is wrong."
    assert polish["pesel"] != english["pesel"]


def test_a_birth_date_contradicting_the_pesel_is_refused(bank):
    response = bank.post("/customers", resident(birth_date="1990-01-01"))

    assert response.status_code == 422
    assert "birth_date" in errors_by_field(response)


def test_an_invalid_phone_number_is_refused(bank):
    response = bank.post("/customers", resident(phone_on_file="12"))

    assert response.status_code == 422
    assert "phone_on_file" in errors_by_field(response)


def test_a_second_customer_with_the_same_reference_is_a_conflict(bank):
    customer_factory(reference="CIF-500001")

    response = bank.post("/customers", resident())

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert Customer.objects.filter(reference="CIF-500001").count() == 1


def test_a_second_customer_with_the_same_pesel_is_a_conflict(bank):
    customer_factory(pesel=PESEL)

    assert bank.post("/customers", resident()).status_code == 409


def test_the_bank_reads_a_customer_by_reference(bank):
    customer = customer_factory(reference="CIF-READ-1", first_name="Ewa")

    response = bank.get("/customers/CIF-READ-1")

    assert response.status_code == 200
    assert response.json()["first_name"] == "Ewa"
    assert response.json()["pesel"] == customer.pesel


def test_an_unknown_customer_is_404(bank):
    response = bank.get("/customers/NO-SUCH-CUSTOMER")

    assert response.status_code == 404
    assert response.json() == {"detail": response.json()["detail"], "code": "not_found", "errors": []}


def test_the_bank_updates_names_and_phone(bank):
    customer = customer_factory(reference="CIF-UPD-1")

    response = bank.patch("/customers/CIF-UPD-1", {"last_name": "Kowalska", "phone_on_file": "+48 601 222 333"})

    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.last_name, customer.phone_on_file) == ("Kowalska", "+48601222333")
    assert response.json()["last_name"] == "Kowalska"
    [row] = audit_rows(bank.api_key, "customers.customer.updated")
    assert row.before["last_name"] == "Nowak" and row.after["last_name"] == "Kowalska"


def test_the_bank_removes_the_phone_on_file_with_null(bank):
    customer = customer_factory(reference="CIF-UPD-2")

    response = bank.patch("/customers/CIF-UPD-2", {"phone_on_file": None})

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.phone_on_file is None


def test_the_bank_assigns_a_non_resident_identification_number(bank):
    customer = customer_factory(reference="CIF-NR-2", residency=Residency.NON_RESIDENT, nonresident_id=None)

    response = bank.patch("/customers/CIF-NR-2", {"nonresident_id": "NR-123"})

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.nonresident_id == "NR-123"


def test_an_update_that_changes_nothing_writes_no_audit_row(bank):
    customer_factory(reference="CIF-UPD-3", first_name="Anna")

    assert bank.patch("/customers/CIF-UPD-3", {"first_name": "Anna"}).status_code == 200
    assert audit_rows(bank.api_key, "customers.customer.updated") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pesel": "85031400717"}, "pesel"),  # not changeable
        ({"residency": "non_resident"}, "residency"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": None}, "first_name"),
        ({"birth_date": "1999-01-01"}, "birth_date"),  # contradicts the PESEL
        ({"birth_date": "not a date"}, "birth_date"),
        ({"phone_on_file": 600100200}, "phone_on_file"),
    ],
)
def test_an_invalid_update_is_refused_and_changes_nothing(bank, body, field):
    customer = customer_factory(reference="CIF-UPD-4")

    response = bank.patch("/customers/CIF-UPD-4", body)

    assert response.status_code == 422, response.json()
    assert field in errors_by_field(response)
    customer.refresh_from_db()
    assert customer.first_name == "Anna"
    assert audit_rows(bank.api_key, "customers.customer.updated") == []


def test_updating_an_unknown_customer_is_404(bank):
    assert bank.patch("/customers/NO-SUCH", {"first_name": "X"}).status_code == 404
