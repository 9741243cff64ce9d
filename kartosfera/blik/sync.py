"""Telling the BLIK system the newest state: an outbox on the service's row, delivered by a task with retries.

Each switch bumps ``BlikService.version`` and marks it pending in the holder's transaction; after commit a
task sends the state as it is then (not as it was at the switch), under the row's lock, so two switches in
a row send the newest once or twice but never the older one last. A failure is retried with exponential
backoff up to ``BLIK_SYNC_MAX_ATTEMPTS``, then the service is marked failed for the back office to see;
``manage.py blik_sync`` sends every service still pending or failed (after a crash, or once the system is
back), and is safe to run at any time.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kartosfera.blik.client import BlikUpdate, blik_system_client
from kartosfera.blik.models import BlikService, SyncStatus
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.http_json import HttpJsonError

logger = logging.getLogger(__name__)

BLIK_SYNC_ACTOR = Actor.system("blik-system")


def blik_sync_enqueue(*, service_id: int, delay: dt.timedelta | None = None) -> None:
    from kartosfera.blik.tasks import blik_sync_task

    task = blik_sync_task
    # The immediate backend (tests) cannot defer: it runs the retry at once.
    if delay is not None and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + delay)
    task.enqueue(service_id)


def blik_sync_retry_delay(*, attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=settings.BLIK_SYNC_RETRY_DELAY * 2 ** max(0, attempts - 1))


def _update(service: BlikService) -> BlikUpdate:
    customer = service.customer
    banks = tuple(sorted(customer.memberships.values_list("bank__code", flat=True)))
    assert service.changed_at is not None  # a pending service has been switched
    return BlikUpdate(
        customer_reference=customer.reference,
        bank_codes=banks,
        enabled=service.enabled,
        version=service.version,
        changed_at=service.changed_at.isoformat(),
    )


def blik_sync(*, service_id: int) -> BlikService | None:
    """Send the service's newest state if the BLIK system has not confirmed it; the service, or None if another
    worker holds it (and sends it)."""
    with transaction.atomic():
        service = (
            BlikService.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("customer")
            .filter(pk=service_id)
            .first()
        )
        if service is None or service.synced_version == service.version:
            return service
        service.sync_attempts += 1
        try:
            reference = blik_system_client().send(_update(service))
        except HttpJsonError as exc:
            retry = exc.retryable and service.sync_attempts < settings.BLIK_SYNC_MAX_ATTEMPTS
            service.sync_status = SyncStatus.PENDING if retry else SyncStatus.FAILED
            service.sync_error = str(exc)[:200]
            service.save(update_fields=["sync_attempts", "sync_status", "sync_error"])
            if not retry:
                audit_record(
                    actor=BLIK_SYNC_ACTOR,
                    action="blik.sync.failed",
                    obj=service,
                    customer_id=service.customer_id,
                    after={"version": service.version, "attempts": service.sync_attempts, "error": service.sync_error},
                )
            else:
                attempts = service.sync_attempts
                transaction.on_commit(
                    lambda: blik_sync_enqueue(service_id=service_id, delay=blik_sync_retry_delay(attempts=attempts))
                )
            logger.warning("blik sync failed", extra={"service_id": service_id, "retry": retry})
            return service
        service.synced_version = service.version
        service.sync_status = SyncStatus.SYNCED
        service.sync_attempts = 0
        service.sync_error = ""
        service.synced_at = timezone.now()
        service.save(update_fields=["synced_version", "sync_status", "sync_attempts", "sync_error", "synced_at"])
        audit_record(
            actor=BLIK_SYNC_ACTOR,
            action="blik.sync.confirmed",
            obj=service,
            customer_id=service.customer_id,
            after={"version": service.version, "enabled": service.enabled, "reference": reference},
        )
        return service


def blik_sync_due() -> int:
    """Send every service the BLIK system has not confirmed (pending or failed); how many were sent now."""
    sent = 0
    for service_id in BlikService.objects.exclude(sync_status=SyncStatus.SYNCED).values_list("pk", flat=True):
        service = blik_sync(service_id=service_id)
        if service is not None and service.sync_status == SyncStatus.SYNCED:
            sent += 1
    return sent
