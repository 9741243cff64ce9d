"""Back-office words: the activity filter's choices and how a caller was verified."""

from __future__ import annotations

from kartosfera.backoffice.models import IdentityDocument, VerificationChannel, VerificationCheck
from kartosfera.core.audit_actions import Audience, AuditKind, audit_actions


def staff_activity_action_choices() -> list[tuple[str, str]]:
    """The back-office actions staff write, for the activity filter (from the registry)."""
    actions = audit_actions(audience=Audience.STAFF, kinds=[AuditKind.BACKOFFICE])
    return sorted(((a.name, str(a.label)) for a in actions if a.name.startswith("backoffice.")), key=lambda c: c[1])


def _label(choices: type[VerificationChannel] | type[VerificationCheck] | type[IdentityDocument], value: object) -> str:
    try:
        return str(choices(str(value)).label)
    except ValueError:
        return str(value)


def verification_summary(after: dict[str, object]) -> str:
    """How the caller of an audited action was verified, in words: "Phone call: Date of birth, …"."""
    channel = after.get("verification_channel")
    if not channel:
        return ""
    checks = after.get("verification_checks") or []
    names = [_label(VerificationCheck, check) for check in checks] if isinstance(checks, list) else []
    document = after.get("verification_document")
    if document:
        names.append(_label(IdentityDocument, document))
    return f"{_label(VerificationChannel, channel)}: {', '.join(names)}"
