"""Background jobs of the statements (Django's tasks API)."""

from __future__ import annotations

from django_tasks import task

from kartosfera.statements.close import close_as_of_default, statements_close


@task()
def statements_close_task() -> int:
    """Close the statements due by yesterday (run daily; idempotent: see docs/statements.md, "The close")."""
    return statements_close(as_of=close_as_of_default()).statements
