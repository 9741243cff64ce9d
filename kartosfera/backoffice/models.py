from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.backoffice.roles import StaffRole, StaffScope, role_scope_allows
from kartosfera.banks.scope import BankScope


class StaffMember(models.Model):
    """A bank employee who may sign in to the back office, with one role."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff_member", verbose_name=_("user")
    )
    full_name = models.CharField(_("full name"), max_length=200)
    role = models.CharField(_("role"), max_length=16, choices=StaffRole.choices)
    # Null: the group's staff (the contact centre, the group's supervisors and auditors), who serve every
    # bank's customers; otherwise the one bank whose customers alone the staff member sees (banks/scope.py).
    bank = models.ForeignKey(
        "banks.Bank",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff_members",
        verbose_name=_("bank"),
        help_text=_("Empty for the group's staff."),
    )
    unit = models.CharField(_("branch or team"), max_length=100, blank=True)
    # The member's own work mobile (E.164), where alone their enrolment links go by SMS [ASVS 5.0 6.4.6]. Set
    # by an administrator with server access (``create_staff_user``, ``staff_user_phone``), never in the back
    # office: a supervisor who could change it could send a member's link to themselves. Null: an account made
    # before phones were kept; it gets no link until an administrator sets one.
    work_phone = models.CharField(_("work mobile phone"), max_length=16, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        ordering = ["full_name"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=StaffRole.values), name="staff_role_valid"),
            # The contact centre is the group's; a branch is a bank's.
            models.CheckConstraint(condition=~Q(role=StaffRole.AGENT, bank__isnull=False), name="staff_agent_is_group"),
            models.CheckConstraint(
                condition=~Q(role=StaffRole.BRANCH, bank__isnull=True), name="staff_branch_has_bank"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.user.get_username()})"

    @property
    def scope(self) -> BankScope:
        return BankScope.of(self.bank)

    @property
    def scope_kind(self) -> str:
        """The StaffScope of the staff member: the group's or a bank's."""
        return StaffScope.GROUP if self.bank_id is None else StaffScope.BANK

    def can(self, permission: str) -> bool:
        return role_scope_allows(self.role, self.scope_kind, permission)


class EnrolmentPurpose(models.TextChoices):
    NEW = "new", _("New account")
    RESET = "reset", _("Reset of the password and authenticator")


# [ours] A link is handed over the same working day; 24 hours leave room for a shift that starts late.
ENROLMENT_VALIDITY = dt.timedelta(hours=24)


class StaffEnrolment(models.Model):
    """A one-time link through which a staff member sets their own password and enrols an authenticator.

    Issued by ``create_staff_user``, ``staff_account reset`` or a supervisor's reset (backoffice/accounts.py):
    the link goes by SMS to the member's own work phone only, so whoever starts it never chooses nor sees the
    password, nor the link [ASVS 5.0 6.4.6]. Only the token's SHA-256 digest is stored. It works once and until
    ``expires_at``; a newer link of the same member replaces it. ``issued_by``: the supervisor who started it
    (None: an administrator's command).
    ``device`` is the authenticator being enrolled: unconfirmed (never accepted at sign-in) until the member
    proves it with a code, when it replaces every other device of the member.
    """

    member = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="enrolments", verbose_name=_("staff member")
    )
    token_digest = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(_("purpose"), max_length=8, choices=EnrolmentPurpose.choices)
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)
    expires_at = models.DateTimeField(_("valid until"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    device = models.OneToOneField(
        "otp_totp.TOTPDevice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )

    class Meta:
        verbose_name = _("staff enrolment link")
        verbose_name_plural = _("staff enrolment links")
        constraints = [
            models.CheckConstraint(condition=Q(purpose__in=EnrolmentPurpose.values), name="staff_enrolment_purpose")
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.created_at:%Y-%m-%d %H:%M}"

    def is_open(self, now: dt.datetime | None = None) -> bool:
        return self.used_at is None and (now or timezone.now()) < self.expires_at


class VerificationChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    BRANCH = "branch", _("In person at a branch")


class VerificationCheck(models.TextChoices):
    """What the caller proved; the answers themselves are compared, never stored."""

    IDENTIFIER = "identifier", _("PESEL or identification number")
    BIRTH_DATE = "birth_date", _("Date of birth")
    CARD_LAST4 = "card_last4", _("Last 4 digits of a card")
    PHONE_ON_FILE = "phone_on_file", _("Calls from the phone number on file")
    IDENTITY_DOCUMENT = "identity_document", _("Identity document shown")


class IdentityDocument(models.TextChoices):
    ID_CARD = "id_card", _("ID card")
    PASSPORT = "passport", _("Passport")
    RESIDENCE_CARD = "residence_card", _("Residence card")


# One verification covers one call or visit [ours].
VERIFICATION_VALIDITY = dt.timedelta(minutes=30)


class CallerVerification(models.Model):
    """How a staff member verified the person on the phone or at the desk as a customer.

    Actions on the customer need a passed verification by the same staff
    member, younger than VERIFICATION_VALIDITY; each action's audit row names it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("staff member")
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("customer")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=VerificationChannel.choices)
    checks_passed = models.JSONField(_("checks passed"), default=list)
    checks_failed = models.JSONField(_("checks failed"), default=list)
    document_type = models.CharField(
        _("identity document"), max_length=32, choices=IdentityDocument.choices, blank=True
    )
    passed = models.BooleanField(_("passed"))
    created_at = models.DateTimeField(_("verified at"), default=timezone.now)
    expires_at = models.DateTimeField(_("valid until"))

    class Meta:
        verbose_name = _("caller verification")
        verbose_name_plural = _("caller verifications")
        indexes = [models.Index(fields=["staff", "customer", "-created_at"], name="verification_lookup")]
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=VerificationChannel.values), name="verification_channel"),
            models.CheckConstraint(
                condition=Q(document_type="") | Q(channel=VerificationChannel.BRANCH),
                name="verification_document_at_branch",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.created_at:%Y-%m-%d %H:%M}"

    def is_valid(self, now: dt.datetime | None = None) -> bool:
        return self.passed and (now or timezone.now()) < self.expires_at

    @property
    def has_identity_document(self) -> bool:
        return VerificationCheck.IDENTITY_DOCUMENT in self.checks_passed

    def audit_view(self) -> dict[str, object]:
        return {
            "verification": str(self.public_id),
            "verification_channel": self.channel,
            "verification_checks": list(self.checks_passed),
            **({"verification_document": self.document_type} if self.document_type else {}),
        }
