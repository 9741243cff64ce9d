from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.crypto import decrypt, encrypt
from kartosfera.notifications import metrics
from kartosfera.notifications.backends import Sms, SmsDeliveryError, get_sms_backend
from kartosfera.notifications.models import OutboundSms, SmsStatus
from kartosfera.notifications.texts import SmsText, sms_text_for_sending

if TYPE_CHECKING:
    from kartosfera.banks.models import Bank

logger = logging.getLogger(__name__)

SMS_ACTOR = Actor.system("sms-gateway")


def sms_send(*, to: str, message: SmsText, purpose: str, bank: Bank | None = None) -> OutboundSms:
    """Queue a registered text message (``SmsTemplate.render``); a task hands it to the gateway after commit.

    ``bank``: the bank the message is about (a card's issuer, the person's one bank); it goes out under
    the bank's sender name when it has one, else under the gateway's, the group's.
    """
    return sms_send_many([SmsToSend(to=to, message=message, purpose=purpose, bank=bank)])[0]


@dataclass(frozen=True)
class SmsToSend:
    """One message of ``sms_send_many``: the arguments of ``sms_send``."""

    to: str
    message: SmsText
    purpose: str
    bank: Bank | None = None


def sms_send_many(messages: Sequence[SmsToSend]) -> list[OutboundSms]:
    """Queue several messages with one insert, and their deliveries after commit in one transaction.

    The statement close texts a hundred holders per transaction (kartosfera/statements/close.py): one row
    each and one commit for the hundred deliveries, instead of a hundred of each (bench/statements.py).
    """
    if not messages:
        return []
    queued = OutboundSms.objects.bulk_create(
        [
            OutboundSms(
                to=each.to,
                purpose=each.purpose,
                sender=each.bank.sms_sender if each.bank is not None else "",
                text_ciphertext=encrypt(sms_text_for_sending(each.message)),
            )
            for each in messages
        ]
    )
    ids = [outbound.pk for outbound in queued]
    # After commit: a rolled-back operation must not send its code, and the
    # worker must find the row when it runs.
    transaction.on_commit(lambda: _deliveries_enqueue(ids))
    return queued


def _deliveries_enqueue(message_ids: list[int]) -> None:
    if len(message_ids) == 1:
        sms_delivery_enqueue(message_id=message_ids[0])
        return
    # The database queue takes a row for each: all or none, in one commit. (RQ, outside the transaction,
    # takes each at once; the rows they name are committed already.)
    with transaction.atomic():
        for message_id in message_ids:
            sms_delivery_enqueue(message_id=message_id)


def sms_delivery_enqueue(*, message_id: int, delay: dt.timedelta | None = None) -> None:
    """Put one delivery of the message on the task queue, not before ``delay`` when the queue can wait."""
    from kartosfera.notifications.tasks import sms_deliver_task

    task = sms_deliver_task
    # The immediate backend (tests) cannot defer: it runs the retry at once.
    if delay is not None and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + delay)
    task.enqueue(message_id)


def sms_retry_delay(*, attempts: int) -> dt.timedelta:
    """How long to wait before the next try after ``attempts`` failed ones (exponential backoff)."""
    return dt.timedelta(seconds=settings.SMS_DELIVERY_RETRY_DELAY * 2 ** max(0, attempts - 1))


def sms_deliver(*, message_id: int) -> OutboundSms:
    """Hand a queued message to the configured backend; wipe its text once it is taken, else retry or fail it."""
    with transaction.atomic():
        # skip_locked: two workers never send the same message twice; the lock
        # is held while the gateway is called, so the second finds it sent.
        message = OutboundSms.objects.select_for_update(skip_locked=True).filter(pk=message_id).first()
        if message is None or message.status != SmsStatus.QUEUED:
            return message or OutboundSms.objects.get(pk=message_id)
        message.attempts += 1
        try:
            gateway_id = get_sms_backend().send(
                Sms(
                    to=message.to,
                    text=decrypt(message.text_ciphertext),
                    reference=str(message.pk),
                    sender=message.sender,
                )
            )
        except SmsDeliveryError as exc:
            _delivery_failed(message, error=str(exc), retryable=exc.retryable, status_code=exc.status_code)
            return message
        except Exception as exc:
            # A bug or a broken backend (e.g. an unwritable outbox file) must not
            # leave the message queued for ever; the class name only, as an
            # exception's message may quote what it was given.
            logger.exception("sms backend raised unexpectedly", extra={"sms_id": message.pk})
            _delivery_failed(message, error=f"backend error: {type(exc).__name__}", retryable=True, status_code=None)
            return message
        transaction.on_commit(metrics.SMS_SENT.labels(message.purpose).inc)
        message.status = SmsStatus.SENT
        message.sent_at = timezone.now()
        message.gateway_message_id = gateway_id[:100]
        message.text_ciphertext = ""
        message.last_error = ""
        message.save()
        logger.info("sms sent", extra={"sms_id": message.pk, "purpose": message.purpose, "attempt": message.attempts})
        return message


def _delivery_failed(message: OutboundSms, *, error: str, retryable: bool, status_code: int | None) -> None:
    # Runs inside sms_deliver's transaction, so the row, the audit and the retry commit together.
    final = not retryable or message.attempts >= settings.SMS_DELIVERY_MAX_ATTEMPTS
    message.last_error = error[:300]
    if final:
        message.status = SmsStatus.FAILED
        # The code will never reach the phone: keeping it, even encrypted, only adds risk.
        message.text_ciphertext = ""
    delay = None if final else sms_retry_delay(attempts=message.attempts)
    message.retry_at = None if delay is None else timezone.now() + delay
    message.save(update_fields=["attempts", "last_error", "status", "text_ciphertext", "retry_at"])
    transaction.on_commit(metrics.SMS_FAILURES.labels(message.purpose, "true" if final else "false").inc)
    logger.error(
        "sms delivery failed",
        extra={
            "sms_id": message.pk,
            "purpose": message.purpose,
            "status_code": status_code,
            "attempt": message.attempts,
            "will_retry": not final,
            "error": message.last_error,
        },
    )
    if final:
        audit_record(
            actor=SMS_ACTOR,
            action="notifications.sms.failed",
            obj=message,
            after={
                "purpose": message.purpose,
                "attempts": message.attempts,
                "status_code": status_code,
                "error": message.last_error,
            },
        )
        return
    transaction.on_commit(lambda: sms_delivery_enqueue(message_id=message.pk, delay=delay))


def _deliveries_waiting() -> set[int] | None:
    """The message ids that a delivery task on the database queue is still waiting to run (None: another queue,
    which cannot be read; then every unlocked queued message is enqueued again, harmlessly)."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from kartosfera.notifications.tasks import sms_deliver_task

    backend = sms_deliver_task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return None
    waiting = DBTaskResult.objects.filter(
        backend_name=backend.alias, task_path=sms_deliver_task.module_path, status="READY"
    ).values_list("args_kwargs", flat=True)
    return {args["args"][0] for args in waiting if args.get("args")}


def sms_deliveries_resume(*, min_age: dt.timedelta = dt.timedelta(minutes=1), now: dt.datetime | None = None) -> int:
    """Enqueue again the delivery of every queued message whose delivery task was lost; how many.

    A task is lost when the worker running it dies (kill -9, out of memory, a power cut): the queue marked it
    running when the worker claimed it and never hears of it again, and the message stays ``queued`` with no
    task to send it. So is a delivery whose enqueue, after the sender's commit, never ran (the statement
    close killed between its batch and the enqueue). A message counts as lost when no task waits to deliver
    it and no worker holds its row (``sms_deliver`` keeps it locked while it talks to the gateway: a dead
    worker's lock went with its connection), and it is older than ``min_age`` (its first enqueue comes just
    after the commit). Enqueueing one that a live task is about to take is harmless: ``sms_deliver`` sends a
    message once, whatever the number of its tasks. The gateway may get the text twice when the worker died
    after handing it over; the same ``Idempotency-Key`` lets it send it once (docs/sms.md).
    """
    now = now or timezone.now()
    with transaction.atomic():
        # The rows whose task waits are never locked here: a worker taking that task meanwhile would find its row
        # locked, skip it and use the task up. A retry not yet due (``retry_at``) has its task waiting too, on
        # any queue.
        waiting = _deliveries_waiting()
        candidates = (
            OutboundSms.objects.select_for_update(skip_locked=True)
            .filter(status=SmsStatus.QUEUED, created_at__lte=now - min_age)
            .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now - min_age))
        )
        if waiting:
            candidates = candidates.exclude(pk__in=waiting)
        locked = list(candidates.order_by("pk").values_list("pk", flat=True))
        # A sweep that committed between the first read and the locks enqueued tasks for some of them: read again.
        waiting = _deliveries_waiting() if locked else waiting
        lost = [pk for pk in locked if waiting is None or pk not in waiting]
        for message_id in lost:
            logger.warning("sms delivery enqueued again after its task was lost", extra={"sms_id": message_id})
        if lost and waiting is not None:
            # The database queue: the tasks commit with this transaction, which holds the rows until then, so a
            # sweep running at the same moment skips them and enqueues nothing twice.
            _deliveries_enqueue(lost)
        elif lost:
            # Another queue is not in the transaction: its worker could take a task before the rows are released.
            transaction.on_commit(lambda: _deliveries_enqueue(lost))
    return len(lost)
