from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
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
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def is_bank_staff(self) -> bool:
        return self.kind == UserKind.STAFF

    @property
    def is_cardholder(self) -> bool:
        return self.kind == UserKind.CUSTOMER
