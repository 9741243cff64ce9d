"""core/statements.py: hand-written SQL that reads and writes rows exactly as the ORM does."""

# SQL built from model metadata only.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from kartosfera.core.audit import Actor, audit_event
from kartosfera.core.models import AuditEvent
from kartosfera.core.statements import (
    Statement,
    batch,
    column_count,
    insert_statement,
    quote,
    row_to_instance,
    select_by,
    select_list,
)
from kartosfera.processing.models import ConversionRate
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db


def _all_fields(instance):
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_a_row_read_by_hand_equals_the_orms_instance_field_for_field():
    """Dates, datetimes, decimals, booleans and JSON come back with the ORM's types on both databases."""
    customer = factories.customer_factory()
    account = factories.account_factory(customer=customer, balance_minor=12_345)
    card = factories.card_factory(customer=customer, account=account)
    sql = (
        f"SELECT {select_list(type(card), 'c')}, {select_list(type(account), 'a')} "
        f"FROM {quote(type(card)._meta.db_table)} c JOIN {quote(type(account)._meta.db_table)} a "
        "ON a.id = c.account_id WHERE c.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [card.pk])
        row = cursor.fetchone()
    split = column_count(type(card))
    by_hand_card = row_to_instance(type(card), row[:split])
    by_hand_account = row_to_instance(type(account), row[split:])

    orm_card = type(card).objects.get(pk=card.pk)
    orm_account = type(account).objects.get(pk=account.pk)
    assert _all_fields(by_hand_card) == _all_fields(orm_card)
    assert _all_fields(by_hand_account) == _all_fields(orm_account)
    assert isinstance(by_hand_card.expiry, dt.date)
    assert not by_hand_card._state.adding  # a loaded row: save() updates it


def test_an_instance_inserted_by_hand_reads_back_as_the_orm_would_have_saved_it():
    rate = ConversionRate(
        from_currency="EUR",
        to_currency="PLN",
        rate=Decimal("4.285000000"),
        valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    with transaction.atomic(), batch() as writes:
        handle = writes.add(insert_statement(rate))
    returned = writes.rows(handle)
    stored = ConversionRate.objects.get()
    if connection.features.can_return_columns_from_insert:
        assert returned == [(stored.pk,)]
    assert stored.rate == Decimal("4.285000000")
    assert stored.created_at is not None  # auto_now_add was applied, as save() does


def test_a_batch_runs_its_statements_in_order_and_an_expression_can_use_an_earlier_row():
    event_actor = Actor.system("test")
    with transaction.atomic():
        first = audit_event(actor=event_actor, action="processing.authorization.approved", after={"n": 1})
        with batch() as writes:
            writes.add(insert_statement(first))
            last_id = Statement(f"CAST((SELECT MAX(id) FROM {quote(AuditEvent._meta.db_table)}) AS TEXT)")
            second = audit_event(actor=event_actor, action="processing.authorization.declined", after={"n": 2})
            writes.add(insert_statement(second, sql_values={"object_id": last_id}))
    rows = list(AuditEvent.objects.order_by("id"))
    assert [row.after for row in rows] == [{"n": 1}, {"n": 2}]
    assert rows[1].object_id == str(rows[0].pk)


def test_a_failing_statement_raises_djangos_error_and_nothing_of_the_batch_stays():
    rate = ConversionRate(
        from_currency="EUR", to_currency="PLN", rate=Decimal("4.2"), valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    duplicate = ConversionRate(
        from_currency="EUR", to_currency="PLN", rate=Decimal("4.3"), valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    with pytest.raises(IntegrityError), transaction.atomic(), batch() as writes:
        writes.add(insert_statement(rate))
        writes.add(insert_statement(duplicate))
    assert not ConversionRate.objects.exists()


def test_select_by_finds_the_row_of_a_unique_column_or_none():
    customer = factories.customer_factory()
    account = factories.account_factory(customer=customer)
    found = select_by(type(account), "reference", account.reference)
    assert found is not None
    assert _all_fields(found) == _all_fields(type(account).objects.get(pk=account.pk))
    assert select_by(type(account), "reference", "no-such-reference") is None
