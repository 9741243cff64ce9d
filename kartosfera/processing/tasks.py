"""Background jobs of the card core (Django's tasks API)."""

from __future__ import annotations

from django_tasks import task

from kartosfera.processing.adjustments import hold_expire_due


@task()
def hold_expire_due_task() -> int:
    """Expire the pending holds past their lifetime (run often; see docs/processing.md, "Holds")."""
    return hold_expire_due()
