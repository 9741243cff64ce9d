"""The ledger is append-only in the database itself (kartosfera/core/append_only.py, docs/decisions/0013).

PostgreSQL: a row trigger refuses UPDATE and DELETE; TRUNCATE (Django's test flush, a
retention job of the table owner) fires no row trigger. SQLite: one trigger refuses
UPDATE, another DELETE unless the connection wipes the whole database (the project's
``flush`` command). A later migration that makes SQLite rebuild this table drops these
triggers and must create them again (the tests of the guard would fail otherwise).
"""

from django.db import migrations

from kartosfera.core.append_only import RunSQLForVendor


class Migration(migrations.Migration):
    dependencies = [("processing", "0006_bank_postings")]
    operations = [
        RunSQLForVendor(
            "postgresql",
            [
                """
                CREATE OR REPLACE FUNCTION processing_posting_append_only() RETURNS trigger AS $$
                BEGIN
                    RAISE EXCEPTION 'processing_posting is append-only (% refused): post a correction instead', TG_OP
                        USING ERRCODE = 'insufficient_privilege';
                END;
                $$ LANGUAGE plpgsql;
                """,
                """
                CREATE TRIGGER processing_posting_append_only
                    BEFORE UPDATE OR DELETE ON processing_posting
                    FOR EACH ROW EXECUTE FUNCTION processing_posting_append_only();
                """,
            ],
            [
                "DROP TRIGGER IF EXISTS processing_posting_append_only ON processing_posting;",
                "DROP FUNCTION IF EXISTS processing_posting_append_only();",
            ],
        ),
        RunSQLForVendor(
            "sqlite",
            [
                "CREATE TRIGGER processing_posting_no_update BEFORE UPDATE ON processing_posting "
                "BEGIN SELECT RAISE(ABORT, 'processing_posting is append-only (UPDATE refused)'); END;",
                "CREATE TRIGGER processing_posting_no_delete BEFORE DELETE ON processing_posting "
                "BEGIN SELECT RAISE(ABORT, 'processing_posting is append-only (DELETE refused)') "
                "WHERE NOT kartosfera_database_wipe(); END;",
            ],
            [
                "DROP TRIGGER IF EXISTS processing_posting_no_delete;",
                "DROP TRIGGER IF EXISTS processing_posting_no_update;",
            ],
        ),
    ]
