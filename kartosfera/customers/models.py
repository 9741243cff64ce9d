from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Residency(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    NON_RESIDENT = "non_resident", _("Non-resident")


class StopChannel(models.TextChoices):
    """Where "stop everything" was switched on (docs/stop-everything.md)."""

    PORTAL = "portal", _("by the customer in the portal")
    APP = "app", _("by the customer in the BS Pay app")
    BACK_OFFICE = "backoffice", _("by the bank")


class Customer(models.Model):
    """A person the bank issues cards to, as the bank's systems provision them.

    Residents are known by PESEL; non-residents by the identification number
    the bank assigns them (which may come later, assigned at a branch).
    """

    # The person's group-wide reference: immutable (the 3-D Secure PIN's keyed value is bound to it,
    # cards/pin.py). Each bank knows the person by its own number (BankMembership.customer_number).
    reference = models.CharField(
        _("customer reference"), max_length=64, unique=True, help_text=_("The person's reference in the group.")
    )
    residency = models.CharField(_("residency"), max_length=16, choices=Residency.choices)
    pesel = models.CharField(_("PESEL"), max_length=11, unique=True, null=True, blank=True)
    nonresident_id = models.CharField(_("identification number"), max_length=20, unique=True, null=True, blank=True)
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone_on_file = models.CharField(_("phone number on file"), max_length=16, null=True, blank=True)
    # CBPR2 (Regulation (EU) 2021/1230 Art. 4(5)): the payer may opt out of the message about the
    # currency conversion charge of card payments in another EEA currency (processing/cbpr2.py).
    conversion_charge_sms = models.BooleanField(_("text message about currency conversion charges"), default=True)
    # "Stop everything" (kartosfera/stops, docs/stop-everything.md): while set, every card, token and BLIK
    # payment of the person is stopped. Kept on the person's row because the card core already joins it into
    # the decision's one read and every portal page already loads it (the banner costs no query).
    payments_stopped_at = models.DateTimeField(_("all payments stopped at"), null=True, blank=True)
    payments_stop_channel = models.CharField(
        _("all payments stopped"), max_length=12, choices=StopChannel.choices, blank=True
    )
    # The staff member's user id when the bank stopped them ("" for the customer): the name is looked up for staff.
    payments_stopped_by = models.CharField(max_length=64, blank=True)
    payments_stop_reason = models.CharField(_("reason"), max_length=200, blank=True)
    # Whether the stop itself switched BLIK off (a lift in the app switches exactly that back on).
    payments_stop_blik_off = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.CheckConstraint(condition=Q(residency__in=Residency.values), name="customer_residency_valid"),
            models.CheckConstraint(
                condition=Q(residency=Residency.RESIDENT, pesel__isnull=False)
                | Q(residency=Residency.NON_RESIDENT, pesel__isnull=True),
                name="customer_pesel_iff_resident",
            ),
            models.CheckConstraint(
                condition=Q(pesel__isnull=True) | Q(pesel__regex=r"^[0-9]{11}$"), name="customer_pesel_format"
            ),
            models.CheckConstraint(
                condition=Q(phone_on_file__isnull=True) | Q(phone_on_file__regex=r"^\+[1-9][0-9]{6,14}$"),
                name="customer_phone_e164",
            ),
            models.CheckConstraint(
                condition=Q(payments_stopped_at__isnull=True, payments_stop_channel="")
                | Q(payments_stopped_at__isnull=False, payments_stop_channel__in=StopChannel.values),
                name="customer_payments_stop_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def payments_stopped(self) -> bool:
        return self.payments_stopped_at is not None


# The person's data a bank reports and reads back as its own (BankMembership.reported).
REPORTED_FIELDS = ("first_name", "last_name", "phone_on_file", "nonresident_id", "birth_date")


class BankMembership(models.Model):
    """A person's being a customer of one bank of the group, under that bank's own customer number.

    A person is one customer group-wide (one PESEL or identification number, one portal login) and
    a customer of each bank that provisioned them; a bank's staff and systems see the person only
    through a membership in their bank (banks/scope.py).
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("customer")
    )
    bank = models.ForeignKey("banks.Bank", on_delete=models.PROTECT, related_name="memberships", verbose_name=_("bank"))
    customer_number = models.CharField(
        _("bank customer number"), max_length=64, help_text=_("The bank's own number of the customer.")
    )
    # What this bank itself reported of the person (REPORTED_FIELDS, dates as ISO text). The person's
    # record holds the newest values any bank sent (the portal and the SMS use those); a bank's systems
    # read back only what they sent, so that no answer shows them what another bank knows (art. 104).
    reported = models.JSONField(_("data the bank reported"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("bank membership")
        verbose_name_plural = _("bank memberships")
        ordering = ["bank_id", "customer_id"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "customer_number"], name="membership_number_unique_per_bank"),
            models.UniqueConstraint(fields=["bank", "customer"], name="membership_one_per_bank"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_number} ({self.bank_id})"

    def reported_value(self, name: str) -> object:
        """What this bank reported of ``name`` (a date as text), or the person's value if it never reported one."""
        if name in self.reported:
            return self.reported[name]
        value = getattr(self.customer, name)
        return value.isoformat() if hasattr(value, "isoformat") else value
