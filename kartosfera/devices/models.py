"""The holder's BS Pay app installations (devices) and the one-time codes that activate them.

A device is known by its Ed25519 public key: the app keeps the private key and
signs every request with it (kartosfera/devices/signatures.py, docs/phone-payments.md).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.customers.models import Customer


class DeviceState(models.TextChoices):
    ACTIVE = "active", _("Active")
    BLOCKED_TEMPORARILY = "blocked_temporarily", _("Temporarily blocked")
    BLOCKED_PERMANENTLY = "blocked_permanently", _("Permanently blocked")


# The state machine, the one table services, pages and docs share. A permanent
# block is final: the phone is activated again as a new device (a new key).
DEVICE_TRANSITIONS: dict[str, frozenset[str]] = {
    DeviceState.ACTIVE: frozenset({DeviceState.BLOCKED_TEMPORARILY, DeviceState.BLOCKED_PERMANENTLY}),
    DeviceState.BLOCKED_TEMPORARILY: frozenset({DeviceState.ACTIVE, DeviceState.BLOCKED_PERMANENTLY}),
    DeviceState.BLOCKED_PERMANENTLY: frozenset(),
}


class BlockedBy(models.TextChoices):
    HOLDER = "holder", _("The holder")
    BANK = "bank", _("The bank")


class AppDevice(models.Model):
    """One installation of the BS Pay app, bound to its holder by its public key."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="app_devices", verbose_name=_("customer")
    )
    name = models.CharField(_("device name"), max_length=64)
    # The raw 32-byte Ed25519 public key, base64 (standard alphabet, padded: 44 characters).
    public_key = models.CharField(_("public key"), max_length=44, unique=True, editable=False)
    state = models.CharField(_("state"), max_length=24, choices=DeviceState.choices, default=DeviceState.ACTIVE)
    activated_at = models.DateTimeField(_("activated on"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    state_changed_at = models.DateTimeField(_("state changed at"), default=timezone.now)
    # Who set the current block and why (empty while active): the holder may lift
    # their own temporary block, never the bank's.
    blocked_by = models.CharField(_("blocked by"), max_length=8, choices=BlockedBy.choices, blank=True, default="")
    blocked_by_label = models.CharField(_("blocked by (who)"), max_length=200, blank=True, default="")
    block_reason = models.CharField(_("reason for the block"), max_length=500, blank=True, default="")
    # The app PIN the holder set at activation (the knowledge factor of the app session), only as a password
    # hash (Argon2id); empty for a device activated without one (it opens its session with a passkey only).
    pin_hash = models.CharField(_("app PIN (hash)"), max_length=256, blank=True, default="", editable=False)
    # Wrong PINs or refused passkeys in a row; the third blocks the device (kartosfera.devices.sessions).
    session_failures = models.PositiveSmallIntegerField(_("failed session openings in a row"), default=0)
    # The app session: opened with the PIN or a passkey on top of the device's signature [ASVS 5.0 6.3.3];
    # null while none is open. ``session_seen_at`` moves on each request the session lets through.
    session_started_at = models.DateTimeField(_("app session opened at"), null=True, blank=True)
    session_seen_at = models.DateTimeField(_("app session last used at"), null=True, blank=True)
    # The challenge of the passkey options last sent to this device (base64url): single use, short-lived.
    passkey_challenge = models.CharField(max_length=128, blank=True, default="", editable=False)
    passkey_challenge_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("BS Pay device")
        verbose_name_plural = _("BS Pay devices")
        ordering = ["-activated_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=DeviceState.values), name="devices_device_state_valid"),
            models.CheckConstraint(
                condition=Q(state=DeviceState.ACTIVE, blocked_by="") | ~Q(state=DeviceState.ACTIVE),
                name="devices_device_active_not_blocked",
            ),
            models.CheckConstraint(
                condition=Q(session_started_at__isnull=True) | Q(state=DeviceState.ACTIVE),
                name="devices_device_session_only_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state == DeviceState.ACTIVE

    def can_become(self, state: str) -> bool:
        return state in DEVICE_TRANSITIONS[self.state]


class DeviceActivationCode(models.Model):
    """An 8-digit code that activates one new device of its customer: 10 minutes, 3 tries, single use.

    The code is kept only as a keyed digest. Until its owner has seen it once,
    it is also kept encrypted (``code_ciphertext``, like a queued SMS holds its
    code): the page that shows it wipes that copy, so it is shown once.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="device_activation_codes", verbose_name=_("customer")
    )
    code_digest = models.CharField(max_length=64, editable=False)
    code_ciphertext = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    shown_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    # When it was used (it activated ``device``) or superseded by a newer code.
    used_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    device = models.OneToOneField(
        AppDevice, on_delete=models.PROTECT, null=True, blank=True, related_name="activation_code"
    )

    class Meta:
        verbose_name = _("device activation code")
        verbose_name_plural = _("device activation codes")
        indexes = [models.Index(fields=["customer", "created_at"], name="devices_code_recent_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(attempts__lte=F("max_attempts")), name="devices_code_attempts_max"),
        ]

    def __str__(self) -> str:
        return f"activation code of customer {self.customer_id}"

    @property
    def attempts_left(self) -> int:
        return self.max_attempts - self.attempts

    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def is_open(self) -> bool:
        """Still usable: not used, not superseded, tries left, not expired."""
        return (
            self.used_at is None
            and self.superseded_at is None
            and self.attempts < self.max_attempts
            and not self.is_expired()
        )


class DeviceRequestId(models.Model):
    """A request id a device has used: each is accepted once per device (replay protection)."""

    device = models.ForeignKey(AppDevice, on_delete=models.CASCADE, related_name="request_ids")
    request_id = models.CharField(max_length=64)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "request_id"], name="devices_request_id_once"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.request_id}"
