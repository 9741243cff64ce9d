"""Append-only tables in the database itself: the audit log and the ledger (docs/decisions/0004, 0013).

Their models refuse changes in Python; database triggers refuse them from anything
else (raw SQL, another program, a mistaken migration):

- **PostgreSQL**: a row trigger refuses ``UPDATE`` and ``DELETE``. ``TRUNCATE`` is a
  table-level operation that fires no row trigger: it stays the table owner's (a
  retention job, Django's test flush, which truncates on PostgreSQL).
- **SQLite**: a trigger refuses ``UPDATE``; another refuses ``DELETE`` unless the
  connection is wiping the whole database (``database_wipe``). SQLite has no
  ``TRUNCATE``, so Django's flush (the test teardown of transactional tests,
  ``manage.py flush``) empties tables with ``DELETE``: the project's ``flush`` command
  (kartosfera/core/management/commands/flush.py) opens the guard for its own
  connection while it runs. The guard asks the connection-local SQL function
  ``kartosfera_database_wipe()``, which Django's connections register
  (``register_sqlite_functions``); any other connection (the ``sqlite3`` shell,
  another program) has no such function, and its ``DELETE`` fails: the guard fails
  closed.

A table remade by a later migration on SQLite (Django rebuilds a table to alter a
column) loses its triggers: such a migration must create them again. The tests
of each table's guard run on the migrated test database, so they catch it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import migrations
from django.db.backends.base.base import BaseDatabaseWrapper

WIPE_FUNCTION = "kartosfera_database_wipe"
_WIPE_FLAG = "_kartosfera_database_wipe"


class RunSQLForVendor(migrations.RunSQL):
    """``RunSQL`` that runs only on one database vendor (``postgresql``, ``sqlite``), forwards and backwards.

    Each statement is given whole (a list), never split: trigger bodies hold semicolons.
    """

    def __init__(self, vendor: str, sql: Sequence[str], reverse_sql: Sequence[str], **kwargs: Any) -> None:
        self.vendor = vendor
        super().__init__(list(sql), list(reverse_sql), **kwargs)

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        name, args, kwargs = super().deconstruct()
        return name, [self.vendor, kwargs.pop("sql"), kwargs.pop("reverse_sql"), *args], kwargs

    def describe(self) -> str:
        return f"Raw SQL on {self.vendor}"

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def register_sqlite_functions(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created``: give a new SQLite connection the function the DELETE guards ask."""
    if connection.vendor != "sqlite":
        return
    # A weak reference: the SQLite connection belongs to the wrapper, and must not keep it alive.
    wrapper = weakref.ref(connection)

    def wiping() -> int:
        current = wrapper()
        return 1 if current is not None and getattr(current, _WIPE_FLAG, False) else 0

    # Not deterministic: the answer changes while the connection lives.
    connection.connection.create_function(WIPE_FUNCTION, 0, wiping)


@contextmanager
def database_wipe(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """While the block runs, this connection may DELETE the rows of the append-only tables (SQLite).

    Only for emptying the whole database (the ``flush`` command); PostgreSQL needs
    nothing here, its flush truncates.
    """
    setattr(connection, _WIPE_FLAG, True)
    try:
        yield
    finally:
        setattr(connection, _WIPE_FLAG, False)


def sqlite_append_only_triggers(table: str) -> list[str]:
    """SQLite's guards of an append-only table: UPDATE refused; DELETE refused unless the database is wiped.

    A migration that makes SQLite rebuild the table (altering a column) drops them and creates them again.
    """
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only (UPDATE refused)'); END;",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only (DELETE refused)') "
        f"WHERE NOT {WIPE_FUNCTION}(); END;",
    ]


def sqlite_append_only_triggers_drop(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {table}_no_delete;", f"DROP TRIGGER IF EXISTS {table}_no_update;"]
