"""Django's ``flush``, allowed to empty the append-only tables on SQLite (kartosfera/core/append_only.py).

PostgreSQL's flush truncates, which no row trigger sees; SQLite's deletes, which the
append-only tables' DELETE guards refuse unless the connection is wiping the whole
database. This command is the one place that says so: the test teardown of
transactional tests and ``manage.py flush`` run through it (an app's command of
the same name takes the place of Django's).
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlushCommand
from django.db import connections

from kartosfera.core.append_only import database_wipe


class Command(DjangoFlushCommand):
    help = DjangoFlushCommand.help + " The append-only tables (audit log, ledger) are emptied too."

    def handle(self, **options: Any) -> None:
        with database_wipe(connections[options["database"]]):
            super().handle(**options)
