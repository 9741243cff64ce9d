"""SQLite refuses DELETE on the audit log too, except while the whole database is wiped.

0002 left DELETE open on SQLite because Django's flush empties tables with DELETE.
The guard asks ``kartosfera_database_wipe()``, which only the project's ``flush``
command turns on for its own connection (kartosfera/core/append_only.py); a
connection without the function (the sqlite3 shell) cannot delete at all.
"""

from django.db import migrations

from kartosfera.core.append_only import RunSQLForVendor


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_append_only_triggers")]
    operations = [
        RunSQLForVendor(
            "sqlite",
            [
                "CREATE TRIGGER core_auditevent_no_delete BEFORE DELETE ON core_auditevent "
                "BEGIN SELECT RAISE(ABORT, 'core_auditevent is append-only (DELETE refused)') "
                "WHERE NOT kartosfera_database_wipe(); END;"
            ],
            ["DROP TRIGGER IF EXISTS core_auditevent_no_delete;"],
        ),
    ]
