"""Background jobs of the card core (Django's tasks API)."""

from __future__ import annotations

from django_tasks import task

from kartosfera.processing.adjustments import hold_expire_due
from kartosfera.processing.cbpr2 import conversion_charge_record


@task()
def hold_expire_due_task() -> int:
    """Expire the pending holds past their lifetime (run often; see docs/processing.md, "Holds")."""
    return hold_expire_due()


@task()
def conversion_charge_record_task(authorization_id: int) -> None:
    """Record a converted payment's CBPR2 charge; text the holder on the month's first (processing/cbpr2.py)."""
    conversion_charge_record(authorization_id=authorization_id)
