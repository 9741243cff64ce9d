"""Writing the audit log: who did what to which object, from where, and when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from kartosfera.core.audit_actions import audit_action_require
from kartosfera.core.context import current_request_context
from kartosfera.core.metrics import audit_action_count
from kartosfera.core.models import ActorType, AuditEvent

# Keys whose values are secrets and must never reach an audit row, whatever a
# caller passes. A service that tries is a bug, so this raises instead of
# silently dropping the value.
FORBIDDEN_KEYS = frozenset(
    {
        "pan",
        "card_number",
        "pin",
        "new_pin",
        "current_pin",
        "pin_block",
        "cvv",
        "cvc",
        "sms_code",
        "otp",
        "one_time_code",
        "activation_password",
        "password",
        "secret",
        "api_key",
    }
)


@dataclass(frozen=True)
class Actor:
    """Who performed an action."""

    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type=ActorType.SYSTEM, id="", label=label)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(type=ActorType.ANONYMOUS)

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        if getattr(user, "is_bank_staff", False):
            return cls(type=ActorType.STAFF, id=str(user.pk), label=user.get_username())
        return cls(type=ActorType.CUSTOMER, id=str(user.pk), label=f"user:{user.pk}")

    @classmethod
    def for_api_key(cls, api_key: Any) -> Actor:
        return cls(type=ActorType.API_CLIENT, id=api_key.prefix, label=api_key.name)


class SecretInAuditError(ValueError):
    pass


def _check_no_secrets(values: Mapping[str, Any]) -> dict[str, Any]:
    for key in values:
        if key.lower() in FORBIDDEN_KEYS:
            raise SecretInAuditError(f"refusing to audit the secret field {key!r}")
    return dict(values)


def _bank_of(obj: models.Model | None) -> int | None:
    if obj is None:
        return None
    if obj._meta.label_lower == "banks.bank":
        return int(obj.pk) if obj.pk is not None else None
    bank_id = getattr(obj, "bank_id", None)
    return int(bank_id) if bank_id is not None else None


def audit_event(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    customer_id: int | None = None,
    bank_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """The audit row ``audit_record`` writes, checked but not yet saved (for a batched insert, core/statements.py).

    ``action`` must be registered (kartosfera.core.audit_actions): a trail must
    be able to say in words what happened, so an unknown name is refused here.
    ``bank_id`` defaults to the object's own bank (a card, an account, a product, a branch has one),
    so that a bank's staff see only their bank's events (banks/scope.py).
    """
    audit_action_require(action)
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change")
    ctx = current_request_context()
    return AuditEvent(
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label[:200],
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        customer_id=customer_id,
        bank_id=bank_id if bank_id is not None else _bank_of(obj),
        before=_check_no_secrets(before or {}),
        after=_check_no_secrets(after or {}),
        ip=ctx.ip,
        request_id=ctx.request_id,
    )


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    customer_id: int | None = None,
    bank_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row; must run inside the transaction of the change it records (see ``audit_event``)."""
    event = audit_event(
        actor=actor, action=action, obj=obj, customer_id=customer_id, bank_id=bank_id, before=before, after=after
    )
    event.save(force_insert=True)
    # A counter that moves with this action (a failed sign-in, a lockout: core/metrics.py), after commit.
    audit_action_count(action)
    return event
