from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboundSms(models.Model):
    """One text message on its way to a phone.

    The text usually carries a one-time code, so it is stored only encrypted
    (with the card-data keys) and wiped once the gateway has taken it or the
    last try has failed: the database never keeps a readable code, and the
    task queue carries only the id.
    """

    to = models.CharField(_("phone number"), max_length=16)
    purpose = models.CharField(_("purpose"), max_length=64)
    # The alphanumeric sender the phone shows: the bank's (Bank.sms_sender) when a bank's card or
    # customer is concerned; empty means the gateway's own, the group's (SMS_GATEWAY_SENDER).
    sender = models.CharField(_("sender"), max_length=11, blank=True)
    text_ciphertext = models.TextField(blank=True)
    status = models.CharField(_("status"), max_length=8, choices=SmsStatus.choices, default=SmsStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When a failed try's retry is due (its task waits until then): the sweep of lost deliveries leaves the
    # message alone before it, whatever queue it is on (services.sms_deliveries_resume).
    retry_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    gateway_message_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("text message")
        verbose_name_plural = _("text messages")
        # The metrics read the queue's depth and age at every scrape (notifications/metrics.py): an index of the
        # queued messages alone keeps that read small however many messages were ever sent.
        indexes = [models.Index(fields=["created_at"], condition=Q(status="queued"), name="sms_queued_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=SmsStatus.values), name="sms_status_valid"),
            models.CheckConstraint(
                condition=Q(status=SmsStatus.QUEUED) | Q(text_ciphertext=""), name="sms_finished_text_wiped"
            ),
        ]

    def __str__(self) -> str:
        return f"SMS {self.pk} ({self.purpose}, {self.status})"
