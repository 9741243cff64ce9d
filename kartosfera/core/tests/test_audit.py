from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from kartosfera.core.audit import Actor, SecretInAuditError, audit_record
from kartosfera.core.models import AppendOnlyError, AuditEvent

pytestmark = pytest.mark.django_db


def _event() -> AuditEvent:
    with transaction.atomic():
        return audit_record(actor=Actor.system("tests"), action="cards.keys.rotated", after={"n": 1})


def test_an_event_cannot_be_changed_through_the_orm():
    event = _event()
    event.action = "tests.thing.undone"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["action"])


def test_an_event_cannot_be_deleted_through_the_orm():
    event = _event()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_database_refuses_an_update_even_in_raw_sql():
    event = _event()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET action = 'forged' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "cards.keys.rotated"


def test_the_database_refuses_a_delete_even_in_raw_sql():
    # PostgreSQL and SQLite alike; only a whole-database wipe (the flush command) empties the table.
    event = _event()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_an_event_must_be_written_inside_the_transaction_of_its_change():
    with pytest.raises(RuntimeError):
        audit_record(actor=Actor.system(), action="cards.keys.rotated")


def test_an_event_rolls_back_with_its_change():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_record(actor=Actor.system(), action="cards.keys.rotated")
        1 / 0  # noqa: B018 - the change fails after the audit row was written
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("key", ["pan", "PIN", "password", "sms_code", "cvv", "api_key"])
def test_secrets_are_refused_before_they_reach_a_row(key):
    with pytest.raises(SecretInAuditError), transaction.atomic():
        audit_record(actor=Actor.system(), action="cards.keys.rotated", after={key: "x"})


def test_an_event_records_the_request_id_and_ip_of_the_request(client, cardholder, card):
    """The request context reaches the audit row without being passed down."""
    from kartosfera.core.context import RequestContext, reset_request_context, set_request_context

    token = set_request_context(RequestContext(request_id="req-12345678", ip="192.0.2.10"))
    try:
        event = _event()
    finally:
        reset_request_context(token)
    assert event.request_id == "req-12345678"
    assert event.ip == "192.0.2.10"
    assert event.actor_type == "system"
