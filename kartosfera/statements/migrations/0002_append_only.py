"""Statements, their lines and their stored documents never change, in the database itself (docs/statements.md).

As the audit log and the ledger (kartosfera/core/append_only.py): PostgreSQL refuses UPDATE and
DELETE with a row trigger (TRUNCATE, a table-level operation of the owner, stays possible); SQLite
refuses UPDATE, and DELETE unless the connection is wiping the whole database (the project's
``flush`` command). A correction is a new statement that names the one it corrects.
"""

from django.db import migrations

from kartosfera.core.append_only import (
    RunSQLForVendor,
    sqlite_append_only_triggers,
    sqlite_append_only_triggers_drop,
)

TABLES = ("statements_statement", "statements_statementline", "statements_statementdocument")


def _postgresql(table: str) -> list[str]:
    return [
        f"""
        CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '{table} is append-only (% refused): issue a correction instead', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql;
        """,
        f"""
        CREATE TRIGGER {table}_append_only
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_append_only();
        """,
    ]


def _postgresql_reverse(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
        f"DROP FUNCTION IF EXISTS {table}_append_only();",
    ]


class Migration(migrations.Migration):
    dependencies = [("statements", "0001_initial")]
    operations = [
        RunSQLForVendor(
            "postgresql",
            [sql for table in TABLES for sql in _postgresql(table)],
            [sql for table in TABLES for sql in _postgresql_reverse(table)],
        ),
        RunSQLForVendor(
            "sqlite",
            [sql for table in TABLES for sql in sqlite_append_only_triggers(table)],
            [sql for table in TABLES for sql in sqlite_append_only_triggers_drop(table)],
        ),
    ]
