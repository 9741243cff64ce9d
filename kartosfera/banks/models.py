"""The banks of the group: each issues its own cards; its staff and its systems see only its part.

The group itself (its name, contact centre and helplines) is configuration (settings GROUP_NAME,
HELPLINE_PHONE, CARD_BLOCKING_PHONE): a bank's helplines fall back to the group's. docs/banks.md.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kartosfera.banks import validators
from kartosfera.core.helpline import PhoneNumber


class Bank(models.Model):
    """A cooperative bank of the group: the issuer of its cards and the owner of its customers' data."""

    code = models.CharField(
        _("bank code"),
        max_length=16,
        unique=True,
        validators=[validators.validate_bank_code],
        help_text=_("A stable code: staff accounts, API keys and the provisioning API name the bank by it."),
    )
    # Not "full name", which the catalogue translates as a person's (imię i nazwisko).
    name = models.CharField(_("bank's full name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=60)
    settlement_number = models.CharField(
        _("settlement number"),
        max_length=8,
        unique=True,
        null=True,
        blank=True,
        validators=[validators.validate_settlement_number],
        help_text=_("The bank's 8-digit numer rozliczeniowy."),
    )
    registered_address = models.TextField(_("registered address"), blank=True)
    krs = models.CharField(_("KRS"), max_length=10, blank=True, validators=[validators.validate_krs])
    nip = models.CharField(_("NIP"), max_length=10, blank=True, validators=[validators.validate_nip])
    regon = models.CharField(_("REGON"), max_length=14, blank=True, validators=[validators.validate_regon])
    website = models.URLField(_("website"), blank=True)
    # Empty: the group's helplines answer for the bank (core/helpline.py).
    helpline_phone = models.CharField(_("helpline"), max_length=32, blank=True)
    card_blocking_phone = models.CharField(_("card blocking line (24/7)"), max_length=32, blank=True)
    sms_sender = models.CharField(
        _("SMS sender name"), max_length=11, blank=True, validators=[validators.validate_sms_sender]
    )
    brand_colour = models.CharField(
        _("brand colour"), max_length=7, blank=True, validators=[validators.validate_brand_colour]
    )
    # The logo is kept in the database and served from our own origin (banks/views.py): never a
    # third-party URL, which the CSP would refuse and which would tell another site who looks at it.
    logo = models.BinaryField(_("logo"), null=True, blank=True, editable=False)
    logo_content_type = models.CharField(max_length=32, blank=True, editable=False)
    logo_digest = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("bank")
        verbose_name_plural = _("banks")
        ordering = ["short_name", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=validators.BANK_CODE_PATTERN), name="bank_code_shape"),
            models.CheckConstraint(
                condition=Q(settlement_number__isnull=True) | Q(settlement_number__regex=r"^[0-9]{8}$"),
                name="bank_settlement_number_digits",
            ),
            models.CheckConstraint(
                condition=Q(brand_colour="") | Q(brand_colour__regex=r"^#[0-9A-Fa-f]{6}$"),
                name="bank_brand_colour_hex",
            ),
            models.CheckConstraint(
                condition=Q(logo__isnull=True, logo_content_type="")
                | Q(logo__isnull=False, logo_content_type__in=["image/png", "image/svg+xml"]),
                name="bank_logo_type",
            ),
        ]

    def __str__(self) -> str:
        return self.short_name

    @property
    def logo_url(self) -> str:
        """Where the portal's ``<img>`` loads the logo from (our own origin), or "" when the bank has none.

        The digest in the URL makes each version its own address, so browsers may keep it for ever.
        """
        if not self.logo_digest:
            return ""
        return reverse("banks:logo", kwargs={"code": self.code, "digest": self.logo_digest})


class BankLogo(models.Model):
    """Every logo a bank has had, by its digest: a document issued under a logo shows that logo ever after.

    A statement keeps the digest of its bank's logo on its statement date (statements' snapshot); its
    PDF, rendered at the first download (perhaps after the bank changed its logo), finds the logo
    here. Written by ``banks.logos.bank_logo_set`` with the bank's current logo; never changed.
    """

    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="logos", verbose_name=_("bank"))
    digest = models.CharField(max_length=64)
    content_type = models.CharField(max_length=32)
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("bank's logo")
        verbose_name_plural = _("banks' logos")
        constraints = [
            models.UniqueConstraint(fields=["bank", "digest"], name="bank_logo_digest_unique"),
            models.CheckConstraint(
                condition=Q(content_type__in=["image/png", "image/svg+xml"]), name="bank_logo_history_type"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_id} {self.digest[:12]}"


class Branch(models.Model):
    """A branch (oddział) of a bank, where its customers are served in person."""

    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="branches", verbose_name=_("bank"))
    name = models.CharField(_("name"), max_length=200)
    street = models.CharField(_("street and number"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=6)
    city = models.CharField(_("city"), max_length=100)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    opening_hours = models.TextField(_("opening hours"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["bank", "city", "name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "name"], name="branch_name_unique_per_bank"),
            models.CheckConstraint(condition=Q(postal_code__regex=r"^[0-9]{2}-[0-9]{3}$"), name="branch_postal_code"),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.city}"

    @property
    def phone_number(self) -> PhoneNumber | None:
        """The branch's phone as a page shows it and a tel: link dials it."""
        return PhoneNumber(self.phone) if self.phone else None
