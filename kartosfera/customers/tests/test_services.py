from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError

from kartosfera.core.audit import Actor
from kartosfera.core.errors import Conflict, ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer, Residency
from kartosfera.customers.services import customer_create, customer_update
from kartosfera.testing.factories import bank_factory, make_pesel

SYSTEM = Actor.system("tests")
pytestmark = pytest.mark.django_db


def test_creating_a_resident_derives_the_birth_date_from_the_pesel_and_audits_it():
    pesel = make_pesel(dt.date(1971, 8, 9), 5)
    customer = customer_create(
        bank=bank_factory(),
        actor=SYSTEM,
        reference="CIF1",
        residency=Residency.RESIDENT,
        first_name="Łukasz",
        last_name="Dąbrowski",
        pesel=pesel,
        phone_on_file="600 100 200",
    )
    assert customer.birth_date == dt.date(1971, 8, 9)
    assert customer.phone_on_file == "+48600100200"
    event = AuditEvent.objects.get(action="customers.customer.created")
    assert event.customer_id == customer.pk
    assert event.after["phone_on_file"] == "+48 *** *** 200"
    assert pesel not in str(event.after)


def test_invalid_pesel_is_refused_and_nothing_is_written():
    bank_factory()
    audit_rows = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        customer_create(
            bank=bank_factory(),
            actor=SYSTEM,
            reference="CIF1",
            residency=Residency.RESIDENT,
            first_name="A",
            last_name="B",
            pesel="1",
        )
    assert "pesel" in exc.value.field_errors
    assert not Customer.objects.exists()
    assert AuditEvent.objects.count() == audit_rows


def test_non_resident_is_identified_by_the_bank_number_not_a_pesel():
    customer = customer_create(
        bank=bank_factory(),
        actor=SYSTEM,
        reference="CIF2",
        residency=Residency.NON_RESIDENT,
        first_name="Olena",
        last_name="Kovalenko",
        nonresident_id="nr-000123",
    )
    assert customer.pesel is None
    assert customer.nonresident_id == "NR-000123"
    with pytest.raises(ValidationFailed):
        customer_create(
            bank=bank_factory(),
            actor=SYSTEM,
            reference="CIF3",
            residency=Residency.NON_RESIDENT,
            first_name="A",
            last_name="B",
            pesel=make_pesel(dt.date(1990, 1, 1), 1),
        )


def test_duplicate_reference_or_pesel_is_a_conflict(cardholder):
    with pytest.raises(Conflict):
        customer_create(
            bank=bank_factory(),
            actor=SYSTEM,
            reference=cardholder.customer.reference,
            residency=Residency.RESIDENT,
            first_name="X",
            last_name="Y",
            pesel=make_pesel(dt.date(1990, 1, 1), 9),
        )
    with pytest.raises(Conflict):
        customer_create(
            bank=bank_factory(),
            actor=SYSTEM,
            reference="OTHER",
            residency=Residency.RESIDENT,
            first_name="X",
            last_name="Y",
            pesel=cardholder.customer.pesel,
        )


def test_updating_the_phone_records_masked_before_and_after(cardholder):
    customer_update(actor=SYSTEM, customer=cardholder.customer, phone_on_file="+48 501 222 333")
    cardholder.customer.refresh_from_db()
    assert cardholder.customer.phone_on_file == "+48501222333"
    event = AuditEvent.objects.filter(action="customers.customer.updated").get()
    assert event.after == {"phone_on_file": "+48 *** *** 333"}


def test_an_update_that_changes_nothing_writes_no_audit_row(cardholder):
    customer_update(actor=SYSTEM, customer=cardholder.customer, first_name=cardholder.customer.first_name)
    assert not AuditEvent.objects.filter(action="customers.customer.updated").exists()


def test_resident_birth_date_cannot_contradict_the_pesel(cardholder):
    with pytest.raises(ValidationFailed):
        customer_update(actor=SYSTEM, customer=cardholder.customer, birth_date=dt.date(2000, 1, 1))


def test_the_database_refuses_a_resident_without_pesel():
    with pytest.raises(IntegrityError):
        Customer.objects.create(reference="R", residency=Residency.RESIDENT, first_name="A", last_name="B")


def test_the_database_refuses_a_phone_not_in_e164():
    with pytest.raises(IntegrityError):
        Customer.objects.create(
            reference="R",
            residency=Residency.NON_RESIDENT,
            first_name="A",
            last_name="B",
            phone_on_file="600700800",
        )
