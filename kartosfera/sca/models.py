from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ChallengePurpose(models.TextChoices):
    REGISTRATION = "registration", _("Registration (activation password)")
    LOGIN = "login", _("Login")
    STEP_UP = "step_up", _("Confirmation of an operation")
    PHONE_VERIFICATION = "phone_verification", _("Verification of a new phone number")
    # The code a phone wallet asks the holder for before it adds the card (kartosfera/tokens/provisioning.py).
    WALLET_PROVISIONING = "wallet_provisioning", _("Adding the card to a phone wallet")


class ChallengeChannel(models.TextChoices):
    """Where a step-up was asked for, and so the only place its code can come back through."""

    WEB = "web", _("Portal")
    APP = "app", _("BS Pay app")


class ConfirmWith(models.TextChoices):
    """How the user confirms: a code sent by SMS, or their passkey (no SMS at all) [ASVS 5.0 6.6.1 at Level 3]."""

    SMS = "sms", _("SMS code")
    PASSKEY = "passkey", _("Passkey")


class ChallengeState(models.TextChoices):
    PENDING = "pending", _("Waiting for the code")
    CONFIRMED = "confirmed", _("Confirmed")
    FAILED = "failed", _("Too many wrong codes")
    CANCELLED = "cancelled", _("Cancelled")


class SmsChallenge(models.Model):
    """A one-time code sent by SMS and what it confirms (PSD2 dynamic linking).

    The code itself is never stored: only a keyed digest bound to this challenge.
    ``operation`` and ``payload`` say exactly what the code confirms; the SMS
    text names it, and nothing else can be confirmed with this code.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    purpose = models.CharField(max_length=24, choices=ChallengePurpose.choices)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="sms_challenges")
    user = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, null=True, blank=True, related_name="sms_challenges"
    )
    operation = models.CharField(max_length=64, help_text=_("What the code confirms, e.g. users.password.change"))
    description = models.CharField(max_length=200, help_text=_("The operation as the SMS and the page name it"))
    card_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    phone = models.CharField(max_length=16)
    code_digest = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=ChallengeState.choices, default=ChallengeState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    sends = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the confirmed operation ran (step-up): a confirmed code runs its
    # operation once, even when two requests race to finish it.
    completed_at = models.DateTimeField(null=True, blank=True)
    # The channel that asked; an app's confirmation belongs to the one device
    # that asked (its public id: sca sits below the devices app).
    channel = models.CharField(max_length=8, choices=ChallengeChannel.choices, default=ChallengeChannel.WEB)
    app_device_id = models.UUIDField(null=True, blank=True)
    # A step-up of a user who signs in with a passkey only is confirmed with it: no code exists, none is sent.
    confirm_with = models.CharField(max_length=8, choices=ConfirmWith.choices, default=ConfirmWith.SMS)
    # The app's pending WebAuthn challenge for this confirmation (base64url), single use; the portal keeps its own in
    # the session. Bound to the operation (``stepup_passkey_challenge``).
    passkey_challenge = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["customer", "purpose", "created_at"], name="sca_challenge_recent_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(purpose__in=ChallengePurpose.values), name="sca_purpose_valid"),
            models.CheckConstraint(condition=Q(state__in=ChallengeState.values), name="sca_state_valid"),
            models.CheckConstraint(condition=Q(attempts__lte=F("max_attempts")), name="sca_attempts_within_max"),
            models.CheckConstraint(
                condition=Q(channel=ChallengeChannel.WEB, app_device_id__isnull=True)
                | Q(channel=ChallengeChannel.APP, app_device_id__isnull=False),
                name="sca_app_challenge_has_its_device",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.operation} ({self.state})"

    @property
    def attempts_left(self) -> int:
        return self.max_attempts - self.attempts

    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at
