from __future__ import annotations

from django_tasks import task

from kartosfera.blik.sync import blik_sync


@task()
def blik_sync_task(service_id: int) -> None:
    """Tell the BLIK system the service's newest state (kartosfera/blik/sync.py)."""
    blik_sync(service_id=service_id)
