"""Audit rows in words, for every trail: the cardholder's histories and the back office's.

The words come from the registry (kartosfera.core.audit_actions); who acted is
said in words too: "You" for the cardholder on their own trail, the staff
member's full name for staff (the bank for the cardholder), "system" or the
bank's systems for the rest. Never a raw code or id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import pgettext

from kartosfera.core.audit_actions import Audience, Severity, audit_action_get
from kartosfera.core.models import ActorType, AuditEvent


@dataclass(frozen=True)
class TrailRow:
    """One line of a trail, ready to show."""

    occurred_at: dt.datetime
    action: str
    label: str
    detail: str
    actor: str
    kind: str
    severity: str
    ip: str | None
    customer_id: int | None
    event: AuditEvent

    @property
    def is_warning(self) -> bool:
        return self.severity == Severity.WARNING


def actor_words(event: AuditEvent, *, viewer: Audience, staff_names: Mapping[str, str]) -> str:
    """Who did it, as the reader should read it."""
    for_staff = viewer == Audience.STAFF
    if event.actor_type == ActorType.CUSTOMER:
        return pgettext("audit actor", "Customer") if for_staff else pgettext("audit actor", "You")
    if event.actor_type == ActorType.STAFF:
        if not for_staff:
            return pgettext("audit actor", "Bank")
        return staff_names.get(event.actor_id) or pgettext("audit actor", "Bank staff")
    if event.actor_type == ActorType.API_CLIENT:
        return pgettext("audit actor", "Bank's systems") if for_staff else pgettext("audit actor", "Bank")
    if event.actor_type == ActorType.SYSTEM:
        return pgettext("audit actor", "System")
    return pgettext("audit actor", "Someone not signed in")


def trail_rows(
    events: Iterable[AuditEvent], *, viewer: Audience, staff_names: Mapping[str, str] | None = None
) -> list[TrailRow]:
    """The events in the words of the registry for ``viewer`` (Audience.CARDHOLDER or Audience.STAFF).

    A row the viewer may not see is left out (the cardholder's selectors already
    filter by audience; this is the second fence). A row of an action no longer
    registered (an old row) shows its name to staff, since nothing better exists.
    """
    names = staff_names or {}
    for_staff = viewer == Audience.STAFF
    rows = []
    for event in events:
        action = audit_action_get(event.action)
        before: dict[str, Any] = event.before if isinstance(event.before, dict) else {}
        after: dict[str, Any] = event.after if isinstance(event.after, dict) else {}
        if action is None:
            if not for_staff:
                continue
            label, detail, kind, severity = event.action, "", "", Severity.INFO.value
        elif not action.visible_to(viewer):
            continue
        else:
            label = action.label_for(after)
            detail = action.detail_for(before, after, for_staff=for_staff)
            kind, severity = str(action.kind.label), action.severity.value
        rows.append(
            TrailRow(
                occurred_at=event.occurred_at,
                action=event.action,
                label=label,
                detail=detail,
                actor=actor_words(event, viewer=viewer, staff_names=names),
                kind=kind,
                severity=severity,
                ip=event.ip,
                customer_id=event.customer_id,
                event=event,
            )
        )
    return rows
