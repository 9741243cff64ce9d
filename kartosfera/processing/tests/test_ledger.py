"""The ledger: append-only in the database too, the bank's own postings, and balance = opening + postings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Sum

from kartosfera.accounts.models import Account
from kartosfera.core.append_only import database_wipe
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.models import AppendOnlyError, AuditEvent
from kartosfera.processing.clearing import clearing_post_record
from kartosfera.processing.ledger import Direction, PostingReferenceConflict, bank_posting_record
from kartosfera.processing.models import Posting, PostingKind
from kartosfera.processing.tests.helpers import PROCESSOR, active_card, decide
from kartosfera.processing.tests.test_clearing import record

BANK = Actor(type="api_client", id="kfk_bank", label="core banking")
BALANCE = 1_000_000


def post(account: Account, reference: str, direction: str = Direction.CREDIT, amount: int = 5_000, **values):
    return bank_posting_record(
        actor=BANK,
        account=account,
        reference=reference,
        direction=direction,
        amount_minor=amount,
        currency=account.currency,
        **values,
    )


def ledger_holds(account: Account) -> None:
    account.refresh_from_db()
    posted = Posting.objects.filter(account=account).aggregate(total=Sum("balance_change_minor"))["total"] or 0
    assert account.balance_minor == account.opening_balance_minor + posted


# --- The bank's postings -------------------------------------------------------------


@pytest.mark.django_db
def test_card_payments_and_the_banks_postings_move_one_balance_in_one_ledger():
    tc = active_card(balance_minor=BALANCE)
    account = tc.account
    authorization = decide(tc, amount_minor=10_000).authorization
    clearing_post_record(
        actor=PROCESSOR, record=record(network_transaction_id=authorization.network_transaction_id, amount_minor=9_500)
    )
    post(account, "SALARY-11", amount=650_000, description="Wynagrodzenie")
    post(account, "RENT-11", Direction.DEBIT, amount=240_000, booking_date=dt.date(2026, 11, 2))

    account.refresh_from_db()
    assert account.balance_minor == BALANCE - 9_500 + 650_000 - 240_000
    ledger_holds(account)
    kinds = set(Posting.objects.filter(account=account).values_list("kind", flat=True))
    assert kinds == {PostingKind.CLEARING, PostingKind.BANK_CREDIT, PostingKind.BANK_DEBIT}
    rent = Posting.objects.get(bank_reference="RENT-11")
    assert (rent.balance_change_minor, rent.processing_date, rent.card_id) == (-240_000, dt.date(2026, 11, 2), None)
    assert AuditEvent.objects.filter(action="processing.bank_posting.posted").count() == 2


@pytest.mark.django_db
def test_a_posting_sent_again_is_the_first_one_and_other_content_under_its_reference_is_refused():
    tc = active_card(balance_minor=BALANCE)
    first = post(tc.account, "TRN-1", amount=1_000)
    again = post(tc.account, "TRN-1", amount=1_000)

    assert (first.created, again.created) == (True, False)
    assert again.posting.pk == first.posting.pk
    with pytest.raises(PostingReferenceConflict):
        post(tc.account, "TRN-1", amount=2_000)
    with pytest.raises(PostingReferenceConflict):
        post(tc.account, "TRN-1", Direction.DEBIT, amount=1_000)
    assert tc.account.balance_minor == BALANCE + 1_000
    assert AuditEvent.objects.filter(action="processing.bank_posting.posted").count() == 1


@pytest.mark.django_db
def test_a_retry_on_another_day_without_a_booking_date_is_still_the_same_posting(time_machine):
    tc = active_card(balance_minor=BALANCE)
    time_machine.move_to(dt.datetime(2026, 11, 27, 23, 50, tzinfo=dt.UTC))
    first = post(tc.account, "TRN-MIDNIGHT")
    time_machine.move_to(dt.datetime(2026, 11, 28, 0, 10, tzinfo=dt.UTC))
    again = post(tc.account, "TRN-MIDNIGHT")

    assert again.created is False and again.posting.pk == first.posting.pk


@pytest.mark.django_db
def test_a_posting_in_another_currency_than_the_accounts_is_refused():
    tc = active_card(balance_minor=BALANCE)
    with pytest.raises(ValidationFailed) as exc:
        bank_posting_record(
            actor=BANK, account=tc.account, reference="T", direction="credit", amount_minor=1, currency="EUR"
        )
    assert set(exc.value.field_errors) == {"currency"}
    assert not Posting.objects.exists()


@pytest.mark.django_db
def test_the_database_refuses_a_bank_posting_with_a_card_or_a_card_posting_without_one():
    tc = active_card(balance_minor=BALANCE)
    bank_posting = post(tc.account, "TRN-DB").posting
    values = {
        field.attname: getattr(bank_posting, field.attname)
        for field in Posting._meta.concrete_fields
        if field.name not in {"id", "created_at"}
    }
    with pytest.raises(DatabaseError), transaction.atomic():
        Posting.objects.create(**{**values, "bank_reference": "TRN-DB-2", "card_id": tc.card.pk})
    with pytest.raises(DatabaseError), transaction.atomic():
        Posting.objects.create(**{**values, "bank_reference": "", "kind": PostingKind.CLEARING, "record_id": "r-1"})
    with pytest.raises(DatabaseError), transaction.atomic():  # a credit must credit
        Posting.objects.create(**{**values, "bank_reference": "TRN-DB-3", "balance_change_minor": -5_000})


# --- Append-only ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_posting_cannot_be_changed_or_deleted_through_the_orm():
    tc = active_card(balance_minor=BALANCE)
    posting = post(tc.account, "TRN-ORM").posting

    posting.amount_minor = 1
    with pytest.raises(AppendOnlyError):
        posting.save()
    with pytest.raises(AppendOnlyError):
        posting.delete()
    with pytest.raises(AppendOnlyError):
        Posting.objects.filter(pk=posting.pk).update(amount_minor=1)
    with pytest.raises(AppendOnlyError):
        Posting.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        Posting.objects.bulk_update([posting], ["amount_minor"])
    assert Posting.objects.get(pk=posting.pk).amount_minor == 5_000


def _raw(sql: str, *params: object) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, list(params))


@pytest.mark.django_db
def test_the_database_refuses_an_update_or_a_delete_of_a_posting_even_in_raw_sql():
    tc = active_card(balance_minor=BALANCE)
    posting = post(tc.account, "TRN-RAW").posting

    with pytest.raises(DatabaseError):
        _raw("UPDATE processing_posting SET balance_change_minor = 999999 WHERE id = %s", posting.pk)
    with pytest.raises(DatabaseError):
        _raw("DELETE FROM processing_posting WHERE id = %s", posting.pk)
    with pytest.raises(DatabaseError):
        _raw("DELETE FROM processing_posting")
    assert Posting.objects.get(pk=posting.pk).balance_change_minor == 5_000


@pytest.mark.django_db
def test_the_database_refuses_a_delete_of_an_audit_row_even_in_raw_sql_on_every_database():
    with transaction.atomic():
        event = audit_record(actor=BANK, action="cards.keys.rotated")

    with pytest.raises(DatabaseError):
        _raw("DELETE FROM core_auditevent WHERE id = %s", event.pk)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the DELETE guard's wipe switch is SQLite's")
@pytest.mark.django_db
def test_on_sqlite_only_a_whole_database_wipe_may_delete_the_ledger():
    tc = active_card(balance_minor=BALANCE)
    post(tc.account, "TRN-WIPE")

    with pytest.raises(DatabaseError):
        _raw("DELETE FROM processing_posting")
    with pytest.raises(RuntimeError), database_wipe(connection), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM processing_posting")
            cursor.execute("DELETE FROM core_auditevent")
        assert not Posting.objects.exists() and not AuditEvent.objects.exists()
        raise RuntimeError("roll the wipe back")
    assert Posting.objects.count() == 1  # rolled back
    with pytest.raises(DatabaseError):  # and the guard is up again
        _raw("DELETE FROM processing_posting")


@pytest.mark.django_db(transaction=True)
def test_the_flush_of_transactional_tests_still_empties_the_ledger_and_the_audit_log():
    """PostgreSQL's flush truncates (no row trigger fires); SQLite's deletes through the project's flush command."""
    tc = active_card(balance_minor=BALANCE)
    post(tc.account, "TRN-FLUSH")
    assert Posting.objects.exists() and AuditEvent.objects.exists()

    call_command("flush", interactive=False, verbosity=0)

    assert not Posting.objects.exists() and not AuditEvent.objects.exists() and not Account.objects.exists()
    # The guard is up again after the wipe.
    tc = active_card(balance_minor=BALANCE)
    post(tc.account, "TRN-AFTER-FLUSH")
    with pytest.raises(DatabaseError):
        _raw("DELETE FROM processing_posting")
    with pytest.raises(DatabaseError):
        _raw("DELETE FROM core_auditevent")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL's flush truncates")
@pytest.mark.django_db(transaction=True)
def test_on_sqlite_djangos_own_flush_would_be_refused_which_is_why_the_project_has_its_own():
    from django.core.management.commands.flush import Command as DjangoFlushCommand

    tc = active_card(balance_minor=BALANCE)
    post(tc.account, "TRN-DJANGO-FLUSH")

    with pytest.raises(CommandError) as refused:
        call_command(DjangoFlushCommand(), interactive=False, verbosity=0)
    assert "append-only" in str(refused.value.__cause__)
    assert Posting.objects.count() == 1  # the failed flush rolled back whole


@pytest.mark.django_db(transaction=True)
def test_the_triggers_migration_is_reversible():
    executor = MigrationExecutor(connection)
    migration = executor.loader.get_migration("processing", "0007_ledger_append_only")
    after = executor.loader.project_state(("processing", "0007_ledger_append_only"))
    before = executor.loader.project_state(("processing", "0006_bank_postings"))
    tc = active_card(balance_minor=BALANCE)
    posting = post(tc.account, "TRN-MIGRATE").posting
    try:
        with connection.schema_editor() as editor:
            migration.unapply(after, editor)
        _raw("UPDATE processing_posting SET description = 'changed' WHERE id = %s", posting.pk)  # no trigger now
    finally:
        with connection.schema_editor() as editor:
            migration.apply(before, editor)
    with pytest.raises(DatabaseError):
        _raw("UPDATE processing_posting SET description = 'again' WHERE id = %s", posting.pk)
    assert Posting.objects.get(pk=posting.pk).description == "changed"
