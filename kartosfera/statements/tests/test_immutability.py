"""Statements never change: the models, the ORM and the database refuse; a correction is a new statement."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from kartosfera.core.errors import ValidationFailed
from kartosfera.core.models import AppendOnlyError, AuditEvent
from kartosfera.processing.ledger import Direction, bank_posting_record
from kartosfera.statements.close import NotCorrectable, statement_correct, statements_close
from kartosfera.statements.models import Statement, StatementLine
from kartosfera.statements.tests.helpers import at, credit_card, spend
from kartosfera.testing.factories import SYSTEM

pytestmark = pytest.mark.django_db
D = dt.date


def closed_statement() -> Statement:
    cc = credit_card(opened=D(2026, 9, 1))
    spend(cc, 12_345, D(2026, 9, 5))
    with time_machine.travel(at(D(2026, 9, 11)), tick=False):
        statements_close(as_of=D(2026, 9, 10))
    return Statement.objects.get()


def _raw(sql: str, *params: object) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, list(params))


def test_the_models_and_the_orm_refuse_to_change_or_delete_a_statement_or_its_lines():
    statement = closed_statement()
    line = statement.lines.get()
    statement.closing_balance_minor = 0
    with pytest.raises(AppendOnlyError):
        statement.save()
    with pytest.raises(AppendOnlyError):
        statement.delete()
    with pytest.raises(AppendOnlyError):
        Statement.objects.filter(pk=statement.pk).update(closing_balance_minor=0)
    with pytest.raises(AppendOnlyError):
        StatementLine.objects.filter(pk=line.pk).delete()
    with pytest.raises(AppendOnlyError):
        StatementLine.objects.bulk_update([line], ["balance_change_minor"])
    assert Statement.objects.get().closing_balance_minor == -12_345


@pytest.mark.parametrize("table", ["statements_statement", "statements_statementline"])
def test_the_database_refuses_an_update_or_a_delete_even_in_raw_sql(table):
    closed_statement()
    column = "number" if table == "statements_statement" else "description"
    with pytest.raises(DatabaseError):
        _raw(f"UPDATE {table} SET {column} = 'changed'")  # noqa: S608 (table names from the test's own list)
    with pytest.raises(DatabaseError):
        _raw(f"DELETE FROM {table}")  # noqa: S608
    assert Statement.objects.get().lines.count() == 1


def test_the_database_refuses_a_change_of_a_stored_document():
    statement = closed_statement()
    _raw(
        "INSERT INTO statements_statementdocument (statement_id, format, language, content, sha256, size, created_at)"
        " VALUES (%s, 'pdf', 'pl', %s, %s, 3, CURRENT_TIMESTAMP)",
        statement.pk,
        b"%PDF",
        "0" * 64,
    )
    with pytest.raises(DatabaseError):
        _raw("UPDATE statements_statementdocument SET content = %s", b"forged")
    with pytest.raises(DatabaseError):
        _raw("DELETE FROM statements_statementdocument")


def test_the_database_refuses_figures_that_do_not_add_up_and_a_second_original_of_a_period():
    statement = closed_statement()
    with pytest.raises(IntegrityError), transaction.atomic():
        Statement.objects.create(
            **{
                field.attname: getattr(statement, field.attname)
                for field in Statement._meta.concrete_fields
                if field.attname != "id"
            }
            | {"number": "another"}
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Statement.objects.create(
            **{
                field.attname: getattr(statement, field.attname)
                for field in Statement._meta.concrete_fields
                if field.attname != "id"
            }
            | {"number": "another", "period_end": D(2026, 9, 11), "closing_balance_minor": 1}
        )


@pytest.mark.django_db(transaction=True)
def test_the_triggers_migration_is_reversible():
    statement = closed_statement()
    executor = MigrationExecutor(connection)
    migration = executor.loader.get_migration("statements", "0002_append_only")
    after = executor.loader.project_state(("statements", "0002_append_only"))
    before = executor.loader.project_state(("statements", "0001_initial"))
    try:
        with connection.schema_editor() as editor:
            migration.unapply(after, editor)
        _raw("UPDATE statements_statement SET number = 'changed' WHERE id = %s", statement.pk)
    finally:
        with connection.schema_editor() as editor:
            migration.apply(before, editor)
    with pytest.raises(DatabaseError):
        _raw("UPDATE statements_statement SET number = 'again' WHERE id = %s", statement.pk)


# --- corrections ----------------------------------------------------------------------------------------


def test_a_correction_is_a_new_statement_naming_the_one_it_corrects_with_the_banks_late_credit():
    statement = closed_statement()
    account = statement.account
    # The bank gives back a wrongly charged amount, dated within the corrected period.
    with time_machine.travel(at(D(2026, 9, 14)), tick=False):
        refund = bank_posting_record(
            actor=SYSTEM,
            account=account,
            reference="REFUND-1",
            direction=Direction.CREDIT,
            amount_minor=2_345,
            currency="PLN",
            description="Zwrot",
            booking_date=D(2026, 9, 10),
        ).posting
        correction = statement_correct(actor=SYSTEM, statement=statement, reason="Zwrot błędnie pobranej kwoty")

    assert correction.corrects == statement and statement.correction == correction
    assert correction.number == f"{statement.number}/K1"
    assert (correction.period_start, correction.period_end) == (statement.period_start, statement.period_end)
    assert correction.closing_balance_minor == -10_000
    assert correction.due_date >= statement.due_date
    assert [line.posting_id for line in correction.lines.all()] == [statement.lines.get().posting_id, refund.pk]
    # The original stands unchanged.
    statement.refresh_from_db()
    assert statement.closing_balance_minor == -12_345 and statement.lines.count() == 1
    event = AuditEvent.objects.get(action="statements.statement.corrected")
    assert event.after["reason"] == "Zwrot błędnie pobranej kwoty"
    # The next period opens from the correction's closing balance.
    with time_machine.travel(at(D(2026, 10, 11)), tick=False):
        statements_close(as_of=D(2026, 10, 10))
    assert Statement.objects.get(period_end=D(2026, 10, 10)).opening_balance_minor == -10_000


def test_only_the_latest_statement_not_yet_corrected_can_be_corrected_and_a_reason_is_needed():
    statement = closed_statement()
    with pytest.raises(ValidationFailed):
        statement_correct(actor=SYSTEM, statement=statement, reason="  ")
    with time_machine.travel(at(D(2026, 9, 12)), tick=False):
        correction = statement_correct(actor=SYSTEM, statement=statement, reason="Błędny adres banku")
    with pytest.raises(NotCorrectable):
        statement_correct(actor=SYSTEM, statement=statement, reason="Again")
    with time_machine.travel(at(D(2026, 9, 13)), tick=False):
        again = statement_correct(actor=SYSTEM, statement=correction, reason="Jeszcze raz")
    assert again.number.endswith("/K2") and again.corrects == correction
    with time_machine.travel(at(D(2026, 10, 11)), tick=False):
        statements_close(as_of=D(2026, 10, 10))
    with pytest.raises(NotCorrectable):
        statement_correct(actor=SYSTEM, statement=again, reason="An older period")
