from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class UserKind(models.TextChoices):
    CUSTOMER = "customer", _("Cardholder")
    STAFF = "staff", _("Bank staff")


class UserManager(BaseUserManager["User"]):
    def create_user(self, username: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, password: str | None = None, **extra: Any) -> User:
        extra.update(kind=UserKind.STAFF, is_staff=True, is_superuser=True)
        return self.create_user(username, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Anybody who signs in: a cardholder (bound to a Customer) or a bank staff member.

    ``username`` is an internal handle for cardholders (they sign in with their
    PESEL, bank ID or their own ``login``) and the sign-in name for staff.
    """

    username = models.CharField(_("username"), max_length=150, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=UserKind.choices)
    customer = models.OneToOneField(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="portal_user",
        verbose_name=_("customer"),
    )
    login = models.CharField(_("own login"), max_length=64, unique=True, null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("Django admin access"), default=False)
    date_joined = models.DateTimeField(_("registered"), default=timezone.now)
    # The number one-time codes go to; set from the phone on file at registration
    # and changeable by the user (confirmed by codes to the old and new number).
    portal_phone = models.CharField(_("portal phone number"), max_length=16, null=True, blank=True)
    password_changed_at = models.DateTimeField(_("password changed"), null=True, blank=True)
    # Lockout [bank]: 3 wrong passwords in a row lock access until the next day (Europe/Warsaw).
    failed_login_count = models.PositiveSmallIntegerField(_("failed logins in a row"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    # Blocked on request (by the user or by staff): only staff can lift it.
    access_blocked_at = models.DateTimeField(_("access blocked at"), null=True, blank=True)
    access_blocked_by = models.CharField(_("access blocked by"), max_length=16, blank=True)
    # Raised to end every session of the user at once without blocking access (an administrator's "sign out
    # everywhere", a staff account disabled or reset) [ASVS 5.0 7.4.5]: it is part of the session auth hash.
    session_epoch = models.PositiveIntegerField(_("session epoch"), default=0)
    # The user's choice to sign in with a passkey only [ASVS 5.0 6.6.1 at Level 3]: no SMS code (cardholders) or
    # authenticator-app code (staff) is accepted as the second step any more. Only with a passkey on file.
    passkey_only = models.BooleanField(_("passkey only"), default=False)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=UserKind.values), name="user_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind=UserKind.CUSTOMER, customer__isnull=False)
                | Q(kind=UserKind.STAFF, customer__isnull=True),
                name="user_customer_iff_cardholder",
            ),
            models.CheckConstraint(
                condition=Q(portal_phone__isnull=True) | Q(portal_phone__regex=r"^\+[1-9][0-9]{6,14}$"),
                name="user_portal_phone_e164",
            ),
        ]

    def __str__(self) -> str:
        return self.username

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django's hash covers the password; ours covers the portal phone too, the possession factor the codes go
        # to: changing either ends every other session of the user at its next request [ASVS 5.0 7.4.3], and the
        # session that confirmed the change keeps going (sca.views._keep_this_session). Without a portal phone the
        # value is Django's own, so such sessions are not ended by this code's deployment. The session epoch too:
        # raising it ends every session of the user [ASVS 5.0 7.4.5] (0, never raised, adds nothing).
        value = f"{self.password}\n{self.portal_phone}" if self.portal_phone else self.password
        if self.session_epoch:
            value = f"{value}\nsessions:{self.session_epoch}"
        key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    @property
    def is_bank_staff(self) -> bool:
        return self.kind == UserKind.STAFF

    @property
    def is_cardholder(self) -> bool:
        return self.kind == UserKind.CUSTOMER

    def is_locked(self, now: dt.datetime | None = None) -> bool:
        return self.locked_until is not None and (now or timezone.now()) < self.locked_until

    @property
    def is_access_blocked(self) -> bool:
        return self.access_blocked_at is not None


class SessionEndReason(models.TextChoices):
    LOGOUT = "logout", _("Signed out")
    IDLE = "idle", _("Inactivity")
    ABSOLUTE = "absolute", _("Longest session time reached")
    ENDED_BY_USER = "ended_by_user", _("Ended from another session")


class UserSession(models.Model):
    """One sign-in's session, so that a user can see and end their sessions [ASVS 5.0 7.5.2] (docs/sessions.md).

    Django's session store cannot list a user's sessions. The raw session key is never stored in the clear:
    ``key_digest`` (keyed HMAC) finds the row of the current request's session, and ``key_encrypted`` (Fernet,
    CARD_DATA_KEYS) lets the owner's "end this session" delete exactly that session from the store. A row is
    shown as active only while its session is still in the store, valid for the user and within the limits.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="session_records")
    key_digest = models.CharField(max_length=64, unique=True)
    key_encrypted = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # Written when the timeout middleware writes its activity stamp (at most every 10 s), not on every request.
    last_seen_at = models.DateTimeField(default=timezone.now)
    browser = models.CharField(max_length=40, blank=True)
    os = models.CharField(max_length=40, blank=True)
    # The address the sign-in came from, as the audit trail and the security history keep it.
    ip = models.GenericIPAddressField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=16, choices=SessionEndReason.choices, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["user", "ended_at"], name="usersession_user_ended"),
        ]

    def __str__(self) -> str:
        return f"session {self.public_id}"


class Passkey(models.Model):
    """A WebAuthn credential (a passkey or a security key) the user signs in with [ASVS 5.0 6.3.3 at Level 3].

    Phishing-resistant by construction: the browser signs a challenge together with the site's origin, and the
    authenticator only answers for the relying party it was registered with. Only the public key is kept.
    ``sign_count`` detects a cloned authenticator (a counter that goes back). See docs/passkeys.md.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys", verbose_name=_("user"))
    # base64url of the authenticator's credential id (at most 1,023 bytes by WebAuthn Level 3).
    credential_id = models.CharField(max_length=1366, unique=True)
    public_key = models.BinaryField()  # COSE_Key, as the authenticator sent it
    sign_count = models.PositiveBigIntegerField(default=0)
    name = models.CharField(_("name"), max_length=64)
    aaguid = models.CharField(_("authenticator model"), max_length=36, blank=True)
    transports = models.JSONField(default=list, blank=True)
    # Synced between the user's devices (a multi-device passkey) or bound to one authenticator.
    backed_up = models.BooleanField(_("synced"), default=False)
    created_at = models.DateTimeField(_("added"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("passkey")
        verbose_name_plural = _("passkeys")
        ordering = ("created_at", "pk")

    def __str__(self) -> str:
        return self.name
