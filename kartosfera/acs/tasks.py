from __future__ import annotations

from django_tasks import task

from kartosfera.acs.directory import rreq_deliver


@task()
def rreq_deliver_task(record_id: int) -> None:
    """Deliver one authentication record's pending RReq to the directory server (the queue carries only the id)."""
    rreq_deliver(record_id=record_id)
