from __future__ import annotations

from django_tasks import task

from kartosfera.notifications.services import sms_deliver


@task()
def sms_deliver_task(message_id: int) -> None:
    """Deliver one queued text message (the queue carries only its id, never its text)."""
    sms_deliver(message_id=message_id)
