"""BLIK: the holder's switch for BLIK payments in the BS Pay app, its history and its sync to the BLIK system.

docs/phone-payments.md, "BLIK". One ``BlikService`` per customer (the BS Pay app is the person's, across the
group's banks). The holder switches BLIK off in the portal at once, with no code: a kill switch for a lost
phone; it is switched on again only from the app, by a signed request of an activated device. Each change is
a ``BlikChange`` (the history the portal and the back office show) and bumps the service's ``version``; the
bank's BLIK system learns the newest state from an outbox task (kartosfera/blik/sync.py), so a retry or a
late delivery never puts an older state back.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class BlikChannel(models.TextChoices):
    PORTAL = "portal", _("in the portal")
    APP = "app", _("in the BS Pay app")
    BACK_OFFICE = "backoffice", _("by the bank")


class SyncStatus(models.TextChoices):
    SYNCED = "synced", _("confirmed by the BLIK system")
    PENDING = "pending", _("being sent to the BLIK system")
    FAILED = "failed", _("not confirmed by the BLIK system")


class BlikService(models.Model):
    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="blik", verbose_name=_("customer")
    )
    enabled = models.BooleanField(_("BLIK on"), default=True)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    # Each change bumps the version; the BLIK system has confirmed every change up to ``synced_version``.
    version = models.PositiveIntegerField(default=0)
    synced_version = models.PositiveIntegerField(default=0)
    sync_status = models.CharField(max_length=8, choices=SyncStatus.choices, default=SyncStatus.SYNCED)
    sync_attempts = models.PositiveSmallIntegerField(default=0)
    sync_error = models.CharField(max_length=200, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("BLIK service")
        verbose_name_plural = _("BLIK services")
        constraints = [
            models.CheckConstraint(condition=Q(synced_version__lte=F("version")), name="blik_synced_not_ahead"),
            models.CheckConstraint(condition=Q(sync_status__in=SyncStatus.values), name="blik_sync_status_valid"),
        ]

    def __str__(self) -> str:
        return f"BLIK of customer {self.customer_id}: {'on' if self.enabled else 'off'}"


class BlikChange(models.Model):
    """One switch of BLIK, on or off: by whom (the channel), why (the bank's reason), when; never changed."""

    service = models.ForeignKey(BlikService, on_delete=models.PROTECT, related_name="changes")
    version = models.PositiveIntegerField()
    enabled = models.BooleanField()
    channel = models.CharField(_("where"), max_length=12, choices=BlikChannel.choices)
    # The BS Pay device that switched BLIK on (its name), or the staff's reason.
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("BLIK change")
        verbose_name_plural = _("BLIK changes")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["service", "version"], name="blik_change_version_unique"),
            models.CheckConstraint(condition=Q(channel__in=BlikChannel.values), name="blik_change_channel_valid"),
            # Only the app switches BLIK on (docs/phone-payments.md).
            models.CheckConstraint(
                condition=Q(enabled=False) | Q(channel=BlikChannel.APP), name="blik_on_only_from_the_app"
            ),
        ]

    def __str__(self) -> str:
        return f"BLIK {'on' if self.enabled else 'off'} ({self.channel}, v{self.version})"
