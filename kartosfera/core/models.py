from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.utils.translation import gettext_lazy as _


class ActorType(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    STAFF = "staff", _("Bank staff")
    SYSTEM = "system", _("System")
    API_CLIENT = "api_client", _("API client")
    ANONYMOUS = "anonymous", _("Anonymous")


class AppendOnlyError(ValueError):
    """Raised on any attempt to change or remove a row of an append-only table (the audit log, the ledger)."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit events cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be updated")


class AuditEvent(models.Model):
    """One security event or state change, written in the transaction of the change.

    Append-only three times over: this model refuses save-after-create and
    delete, its queryset refuses update/delete, and database triggers refuse
    UPDATE and DELETE from anything, the ORM or raw SQL (kartosfera/core/append_only.py).
    """

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # The customer whose trail this event belongs to (for the back office view);
    # an id rather than a foreign key so the trail outlives any row it mentions.
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # The bank whose object the event is about (a card, an account, a product, a branch); null for what
    # belongs to the person and every bank of theirs (portal access, the 3-D Secure profile) and for
    # the events written before banks existed (banks/scope.py: a bank's staff see theirs and the null ones).
    bank_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(actor_type__in=ActorType.values), name="audit_actor_type_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be deleted")
