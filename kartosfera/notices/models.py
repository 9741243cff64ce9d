"""A payment declined by a control the holder set, as the holder is told of it; whether the holder wants an SMS."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DeclineNotice(models.Model):
    """One decline of a card payment caused by a holder's control (notices/controls.py), written in the decision.

    Written by the card core in the decision's transaction, under the card's row lock
    (processing/services.py ``_decide``), once per authorization: a processor's retry replays
    the stored decision before the pipeline and never reaches here, and the one-to-one
    ``authorization`` refuses a second row besides. ``sms`` is the text message sent for it,
    or null: another one went out for the same card and control within the hour, the holder
    switched the messages off, there was no phone, or the decision was back-filled.
    """

    card = models.ForeignKey("cards.Card", on_delete=models.PROTECT, related_name="decline_notices")
    authorization = models.OneToOneField(
        "processing.Authorization", on_delete=models.PROTECT, related_name="decline_notice"
    )
    # The decline reason (processing/codes.py), one of notices/controls.py's DECLINE_NOTICE_CONTROLS.
    control = models.CharField(_("control"), max_length=40)
    sms = models.ForeignKey(
        "notifications.OutboundSms", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The decision's moment (the authorization's created_at): the hour of the SMS rate limit is counted from it.
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("decline notice")
        verbose_name_plural = _("decline notices")
        indexes = [
            # The card page's list, newest first.
            models.Index(fields=["card", "-created_at"], name="notice_card_recent"),
            # The rate limit's look-up: the SMS sent for a card and control in the last hour.
            models.Index(
                fields=["card", "control", "-created_at"], condition=Q(sms__isnull=False), name="notice_sms_sent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card_id} {self.control} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def sms_sent(self) -> bool:
        return self.sms_id is not None


class NoticePreference(models.Model):
    """A customer's choice of notices; no row means the defaults (decline notices by SMS on)."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="notice_preference"
    )
    decline_sms = models.BooleanField(_("text messages about payments declined by your settings"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notice preference")
        verbose_name_plural = _("notice preferences")

    def __str__(self) -> str:
        return f"{self.customer_id}: decline SMS {'on' if self.decline_sms else 'off'}"
