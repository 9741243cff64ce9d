from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from kartosfera.core.crypto import decrypt, encrypt
from kartosfera.notifications.backends import Sms, SmsDeliveryError, get_sms_backend
from kartosfera.notifications.models import OutboundSms, SmsStatus

logger = logging.getLogger(__name__)


def sms_send(*, to: str, text: str, purpose: str) -> OutboundSms:
    """Queue a text message; it is handed to the gateway by a task after the transaction commits."""
    from kartosfera.notifications.tasks import sms_deliver_task

    message = OutboundSms.objects.create(to=to, purpose=purpose, text_ciphertext=encrypt(text))
    transaction.on_commit(lambda: sms_deliver_task.enqueue(message.pk))
    return message


def sms_deliver(*, message_id: int) -> OutboundSms:
    """Hand a queued message to the configured backend; wipe its text once it is taken."""
    with transaction.atomic():
        # skip_locked: two workers never send the same message twice.
        message = OutboundSms.objects.select_for_update(skip_locked=True).filter(pk=message_id).first()
        if message is None or message.status != SmsStatus.QUEUED:
            return message or OutboundSms.objects.get(pk=message_id)
        message.attempts += 1
        try:
            gateway_id = get_sms_backend().send(
                Sms(to=message.to, text=decrypt(message.text_ciphertext), reference=str(message.pk))
            )
        except SmsDeliveryError as exc:
            message.last_error = str(exc)[:300]
            if not exc.retryable:
                message.status = SmsStatus.FAILED
            message.save(update_fields=["attempts", "last_error", "status"])
            logger.error(
                "sms delivery failed",
                extra={"sms_id": message.pk, "purpose": message.purpose, "error": message.last_error},
            )
            return message
        message.status = SmsStatus.SENT
        message.sent_at = timezone.now()
        message.gateway_message_id = gateway_id[:100]
        message.text_ciphertext = ""
        message.last_error = ""
        message.save()
        logger.info("sms sent", extra={"sms_id": message.pk, "purpose": message.purpose})
        return message
