from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
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
    # All the deliveries or none, with one commit: a queue in the database takes a row for each.
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
    message.save(update_fields=["attempts", "last_error", "status", "text_ciphertext"])
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
    delay = sms_retry_delay(attempts=message.attempts)
    transaction.on_commit(lambda: sms_delivery_enqueue(message_id=message.pk, delay=delay))
