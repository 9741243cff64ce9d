"""3D Secure settings of a customer: one 3DS PIN for all their cards, the low-value exemption, trusted merchants.

PRODUCT.md "3D Secure" [bank]. The settings belong to the customer, not to a
card: they hold for every card the customer has now or gets later.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kartosfera.customers.models import Customer


class ThreeDSProfile(models.Model):
    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="threeds_profile", verbose_name=_("customer")
    )
    # The keyed verification value of the 4-digit 3DS PIN, bound to the customer
    # (kartosfera/cards/pin.py: threeds_pin_verification_value); "" while no PIN is set.
    pin_verification_value = models.CharField(max_length=64, blank=True, default="", editable=False)
    # The id of the CARD_PIN_KEY key that made it (as Card.pin_key_id). Null: made before values had an id,
    # under the one key there was then, which stays the oldest of the list.
    pin_key_id = models.CharField(max_length=8, null=True, blank=True, editable=False)
    pin_set_at = models.DateTimeField(_("3D Secure PIN set at"), null=True, blank=True)
    low_value_exemption = models.BooleanField(_("low-value exemption"), default=True)
    failed_attempts = models.PositiveSmallIntegerField(_("failed attempts in a row"), default=0)
    locked_until = models.DateTimeField(_("internet payments locked until"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("3D Secure profile")
        verbose_name_plural = _("3D Secure profiles")

    def __str__(self) -> str:
        return f"3DS profile of customer {self.customer_id}"

    @property
    def has_pin(self) -> bool:
        return bool(self.pin_verification_value)


class TrustedMerchant(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="trusted_merchants", verbose_name=_("customer")
    )
    name = models.CharField(_("name"), max_length=100)
    # The acquirer's merchant identifier (as on the authorization message).
    merchant_id = models.CharField(_("merchant ID"), max_length=35)
    # ISO 3166-1 alpha-2.
    country = models.CharField(_("country"), max_length=2)
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("trusted merchant")
        verbose_name_plural = _("trusted merchants")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "merchant_id"], name="secure3d_trusted_merchant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.merchant_id}, {self.country})"
