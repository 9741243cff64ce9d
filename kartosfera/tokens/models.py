from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.tokens.states import (
    DeviceType,
    ProviderSync,
    ProvisioningDecision,
    SuspendedBy,
    TokenCommand,
    TokenStatus,
    Wallet,
)


class Token(models.Model):
    """A card virtualized in a phone wallet (karta zwirtualizowana): the token service provider's number for it.

    Kartosfera never sees the token's full number: the provider gives its reference and the last
    4 digits. The status is the bank's decision and applies at once (the card core reads it);
    ``provider_sync`` says whether the provider has confirmed the last command sent to it.
    """

    card = models.ForeignKey("cards.Card", on_delete=models.PROTECT, related_name="tokens", verbose_name=_("card"))
    token_reference = models.CharField(_("token reference"), max_length=64, unique=True)
    token_last4 = models.CharField(_("last 4 digits of the token"), max_length=4)
    wallet = models.CharField(_("wallet"), max_length=16, choices=Wallet.choices)
    device_name = models.CharField(_("device name"), max_length=100, blank=True)
    device_type = models.CharField(_("device type"), max_length=8, choices=DeviceType.choices, default=DeviceType.PHONE)
    # A BS Pay token lives in the BS Pay app on one activated device: blocking the device suspends it, and
    # blocking the device for good deletes it (kartosfera/tokens/services.py: device_tokens_*).
    app_device = models.ForeignKey(
        "devices.AppDevice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tokens",
        verbose_name=_("BS Pay device"),
    )
    status = models.CharField(_("status"), max_length=16, choices=TokenStatus.choices, default=TokenStatus.REQUESTED)
    suspended_by = models.CharField(_("suspended by"), max_length=32, choices=SuspendedBy.choices, blank=True)
    status_changed_at = models.DateTimeField(_("since"), default=timezone.now)
    provider_sync = models.CharField(
        _("wallet confirmation"), max_length=16, choices=ProviderSync.choices, default=ProviderSync.CONFIRMED
    )
    # The last command sent to the provider (shown as waiting while provider_sync is pending).
    last_command = models.CharField(_("last command"), max_length=16, choices=TokenCommand.choices, blank=True)
    # The bank's answer to the provider's request to provision it (kartosfera/tokens/provisioning.py),
    # and the holder's SMS code when the answer was to check first.
    provisioning_decision = models.CharField(
        _("provisioning decision"),
        max_length=24,
        choices=ProvisioningDecision.choices,
        default=ProvisioningDecision.APPROVED,
    )
    verification = models.ForeignKey(
        "sca.SmsChallenge", on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("wallet token")
        verbose_name_plural = _("wallet tokens")
        ordering = ["card_id", "-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(token_last4__regex=r"^[0-9]{4}$"), name="token_last4_digits"),  # noqa: S106
            models.CheckConstraint(condition=Q(wallet__in=Wallet.values), name="token_wallet_valid"),
            models.CheckConstraint(condition=Q(device_type__in=DeviceType.values), name="token_device_type_valid"),
            models.CheckConstraint(condition=Q(status__in=TokenStatus.values), name="token_status_valid"),
            # Only a BS Pay token lives on a BS Pay app device, and every BS Pay token does.
            models.CheckConstraint(
                condition=(Q(wallet=Wallet.BS_PAY) & Q(app_device__isnull=False))
                | (~Q(wallet=Wallet.BS_PAY) & Q(app_device__isnull=True)),
                name="token_bs_pay_iff_app_device",
            ),
            models.CheckConstraint(
                condition=Q(provider_sync__in=ProviderSync.values), name="token_provider_sync_valid"
            ),
            # A suspended token always says who suspended it, and only a suspended one does.
            models.CheckConstraint(
                condition=(Q(status=TokenStatus.SUSPENDED) & ~Q(suspended_by=""))
                | (~Q(status=TokenStatus.SUSPENDED) & Q(suspended_by="")),
                name="token_suspended_by_iff_suspended",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_wallet_display()} *{self.token_last4}"

    @property
    def masked_number(self) -> str:
        return f"•••• {self.token_last4}"

    @property
    def is_pending(self) -> bool:
        return self.provider_sync == ProviderSync.PENDING


class CommandStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    CONFIRMED = "confirmed", _("Confirmed")
    FAILED = "failed", _("Failed")


class TokenServiceCommand(models.Model):
    """One command to the token service provider (the outbox): written with the change, delivered after commit.

    A token's commands are delivered in the order they were written (a resume never overtakes the
    suspend before it), by ``token_commands_deliver`` with retries and backoff.
    """

    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="commands", verbose_name=_("token"))
    command = models.CharField(_("command"), max_length=16, choices=TokenCommand.choices)
    status = models.CharField(_("status"), max_length=16, choices=CommandStatus.choices, default=CommandStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("token service command")
        verbose_name_plural = _("token service commands")
        constraints = [
            models.CheckConstraint(condition=Q(command__in=TokenCommand.values), name="token_command_valid"),
            models.CheckConstraint(condition=Q(status__in=CommandStatus.values), name="token_command_status_valid"),
        ]
        indexes = [models.Index(fields=["token", "status"], name="token_command_token_status")]

    def __str__(self) -> str:
        return f"{self.command} token {self.token_id} ({self.status})"
