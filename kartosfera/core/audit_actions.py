"""The registry of audit actions: every action the code writes, with how people read it.

One entry per action name (``cards.card.blocked``): its past-tense label in the
reader's language, the kind it belongs to (the back office filters by kind),
who may see it (the cardholder, bank staff or both) and how serious it is.
``audit_record`` refuses a name that is not registered, every trail (the
cardholder's security and card history, the back office's customer trail and
staff activity) reads its words from here, and a test walks the source for
every action written. Each app lists its own actions in ``<app>/audit_actions.py``;
``CoreConfig.ready`` imports those modules. How to add one: docs/audit.md.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

Text = str | Promise


class Audience(enum.Flag):
    """Who may see an action in a trail."""

    CARDHOLDER = enum.auto()
    STAFF = enum.auto()
    BOTH = CARDHOLDER | STAFF


class AuditKind(models.TextChoices):
    """What an action is about: the back office filters a customer's trail by it."""

    ACCESS = "access", pgettext_lazy("audit kind", "Access and sign-in")
    CODES = "codes", pgettext_lazy("audit kind", "SMS codes")
    SETTINGS = "settings", pgettext_lazy("audit kind", "Settings")
    CARDS = "cards", pgettext_lazy("audit kind", "Cards")
    SECURE3D = "secure3d", pgettext_lazy("audit kind", "3-D Secure")
    BACKOFFICE = "backoffice", pgettext_lazy("audit kind", "Back office")
    BANK = "bank", pgettext_lazy("audit kind", "Bank systems")


class Severity(models.TextChoices):
    INFO = "info", pgettext_lazy("audit severity", "Information")
    NOTICE = "notice", pgettext_lazy("audit severity", "Notice")
    WARNING = "warning", pgettext_lazy("audit severity", "Warning")


# How a row's data becomes words: given the row's ``before``/``after`` and whether
# the reader is bank staff, a label variant or a detail (never a raw code or id).
Variant = Callable[[Mapping[str, Any]], Text | None]
Detail = Callable[[Mapping[str, Any], Mapping[str, Any], bool], Text]


@dataclass(frozen=True)
class AuditAction:
    """One registered action: ``name`` as written, ``label`` in the past tense."""

    name: str
    label: Text
    kind: AuditKind
    audience: Audience = Audience.BOTH
    severity: Severity = Severity.INFO
    # A more precise label for some rows (e.g. "Card activated" for a move to active by activation).
    variant: Variant | None = None
    # What the row adds in words: a reason, a date, how the caller was verified.
    detail: Detail | None = None

    def label_for(self, after: Mapping[str, Any]) -> str:
        """The label of one row (its variant when the row's data picks one)."""
        if self.variant is not None:
            chosen = self.variant(after)
            if chosen is not None:
                return str(chosen)
        return str(self.label)

    def detail_for(self, before: Mapping[str, Any], after: Mapping[str, Any], *, for_staff: bool) -> str:
        return str(self.detail(before, after, for_staff)) if self.detail is not None else ""

    def visible_to(self, audience: Audience) -> bool:
        return bool(self.audience & audience)


class UnregisteredAuditAction(ValueError):
    """The code tried to write an action that is not in the registry (a programming error)."""


_registry: dict[str, AuditAction] = {}


def audit_actions_register(*actions: AuditAction) -> None:
    """Add actions to the registry; a name registered twice is a configuration error."""
    for action in actions:
        if action.name in _registry and _registry[action.name] != action:
            raise ImproperlyConfigured(f"audit action {action.name!r} is registered twice")
        _registry[action.name] = action


def audit_action_get(name: str) -> AuditAction | None:
    return _registry.get(name)


def audit_action_require(name: str) -> AuditAction:
    """The registered action ``name``; UnregisteredAuditAction for any other."""
    action = _registry.get(name)
    if action is None:
        raise UnregisteredAuditAction(
            f"audit action {name!r} is not registered: add it to its app's audit_actions.py (docs/audit.md)"
        )
    return action


def audit_actions(*, audience: Audience | None = None, kinds: Iterable[str] | None = None) -> list[AuditAction]:
    """The registered actions, by name, optionally only those ``audience`` sees and of ``kinds``."""
    wanted = set(kinds) if kinds is not None else None
    return [
        action
        for name, action in sorted(_registry.items())
        if (audience is None or action.visible_to(audience)) and (wanted is None or action.kind in wanted)
    ]


def audit_action_names(*, audience: Audience | None = None, kinds: Iterable[str] | None = None) -> list[str]:
    """The names of ``audit_actions(...)``: what a trail's query filters on."""
    return [action.name for action in audit_actions(audience=audience, kinds=kinds)]


def audit_actions_autodiscover() -> None:
    """Import every installed app's ``audit_actions`` module (called once, at start-up)."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("audit_actions")


# --- Helpers for the apps' details ---------------------------------------------------


def choice_label(labels: Mapping[str, Text], value: object) -> Text:
    """The words for a stored code; an unknown code shows as nothing rather than raw."""
    return labels.get(str(value), "")


def staff_reason(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    """The reason a staff member typed: for staff only (it is an internal note)."""
    return str(after.get("reason", "")) if for_staff else ""


def moment(value: object) -> str:
    """A stored ISO date-time in the reader's format and the bank's time zone ("" when absent)."""
    from django.utils import formats, timezone
    from django.utils.dateparse import parse_datetime

    parsed = parse_datetime(str(value)) if value else None
    if parsed is None:
        return ""
    return formats.date_format(timezone.localtime(parsed), "SHORT_DATETIME_FORMAT")
