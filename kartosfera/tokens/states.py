"""The token status machine (docs/phone-payments.md, "Tokens").

    requested ──activate──▶ active ◀──resume── suspended
        │                     │ ──suspend───────▶ │
        └────────delete───────┴──────delete───────┴──▶ deleted (final)

A suspension remembers who made it (``SuspendedBy``), because only that cause may lift it:
unblocking the card resumes the tokens its block suspended, never those the holder or the
bank suspended themselves.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Wallet(models.TextChoices):
    GOOGLE_PAY = "google_pay", "Google Pay"
    APPLE_PAY = "apple_pay", "Apple Pay"
    GARMIN_PAY = "garmin_pay", "Garmin Pay"
    BS_PAY = "bs_pay", "BS Pay"


class DeviceType(models.TextChoices):
    PHONE = "phone", _("Phone")
    WATCH = "watch", _("Watch")
    TABLET = "tablet", _("Tablet")
    OTHER = "other", pgettext_lazy("device type", "Other")


class TokenStatus(models.TextChoices):
    REQUESTED = "requested", pgettext_lazy("token status", "Requested")
    ACTIVE = "active", pgettext_lazy("token status", "Active")
    SUSPENDED = "suspended", pgettext_lazy("token status", "Suspended")
    DELETED = "deleted", pgettext_lazy("token status", "Deleted")


class SuspendedBy(models.TextChoices):
    """Who or what suspended a token; a new cause (a BS Pay device's block) is one more member here."""

    HOLDER = "holder", _("The cardholder")
    BANK = "bank", _("The bank")
    WALLET = "wallet", _("The wallet")
    CARD_BLOCK = "card_block", _("The card's block")
    MOBILE_PAYMENTS_OFF = "mobile_payments_off", _("Mobile payments switched off")
    DEVICE_BLOCK = "device_block", _("The BS Pay device's block")
    CUSTOMER_STOP = "customer_stop", _("All payments stopped")


# The causes that the card's own state imposes on its tokens: the cascades set and lift them,
# a person does not (a holder who resumes such a token would pay with a blocked card).
CARD_CAUSES = frozenset({SuspendedBy.CARD_BLOCK, SuspendedBy.MOBILE_PAYMENTS_OFF})

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    TokenStatus.REQUESTED: frozenset({TokenStatus.ACTIVE, TokenStatus.DELETED}),
    TokenStatus.ACTIVE: frozenset({TokenStatus.SUSPENDED, TokenStatus.DELETED}),
    TokenStatus.SUSPENDED: frozenset({TokenStatus.ACTIVE, TokenStatus.DELETED}),
    TokenStatus.DELETED: frozenset(),
}

# Which suspensions each party may lift: the holder their own; the bank its own and the holder's
# (a customer who calls the bank); the wallet its own. The card's causes only by the cascades.
RESUMABLE_BY: dict[str, frozenset[str]] = {
    SuspendedBy.HOLDER: frozenset({SuspendedBy.HOLDER}),
    SuspendedBy.BANK: frozenset({SuspendedBy.HOLDER, SuspendedBy.BANK}),
    SuspendedBy.WALLET: frozenset({SuspendedBy.WALLET, SuspendedBy.HOLDER}),
}


class TokenCommand(models.TextChoices):
    """What Kartosfera tells the token service provider to do with a token."""

    SUSPEND = "suspend", pgettext_lazy("token command", "Suspension")
    RESUME = "resume", pgettext_lazy("token command", "Resumption")
    DELETE = "delete", pgettext_lazy("token command", "Deletion")


class ProviderSync(models.TextChoices):
    """Whether the token service provider has confirmed the token's last command."""

    CONFIRMED = "confirmed", _("Confirmed by the wallet")
    PENDING = "pending", _("Waiting for the wallet")
    FAILED = "failed", _("Not confirmed by the wallet")


class ProvisioningDecision(models.TextChoices):
    """The bank's answer to the provider's request to provision a token (a declined request stores no token)."""

    APPROVED = "approved", _("Approved")
    VERIFICATION_REQUIRED = "verification_required", _("Waiting for the holder's SMS code")
    VERIFIED = "verified", _("Approved after the holder's SMS code")
    VERIFICATION_FAILED = "verification_failed", _("The holder's SMS code was not given")


def is_transition_allowed(current: str, target: str) -> bool:
    return target in ALLOWED_TRANSITIONS[current]
