"""Audit rows in words a person reads (staff screens); unknown codes show as they are."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kartosfera.backoffice.actions import ACTIONS
from kartosfera.backoffice.models import IdentityDocument, VerificationChannel, VerificationCheck

_LABELS: dict[str, str | Promise] = {
    "backoffice.caller.verified": _("Caller verified"),
    "backoffice.caller.verification_failed": _("Caller verification failed"),
    "backoffice.customer.viewed": _("Customer file opened"),
    "backoffice.action_refused": _("Staff action refused"),
    "backoffice.staff.signed_in": _("Staff member signed in"),
    "backoffice.staff.signed_out": _("Staff member signed out"),
    "backoffice.staff.sign_in_failed": _("Staff sign-in failed"),
    "backoffice.staff.sign_in_refused": _("Staff sign-in refused (locked)"),
    "backoffice.staff.locked": _("Staff account locked"),
    "backoffice.staff.created": _("Staff account created"),
    "users.login.succeeded": _("Signed in to the portal"),
    "users.login.failed": _("Wrong password"),
    "users.login.refused": _("Sign-in refused"),
    "users.login.code_failed": _("Wrong sign-in code"),
    "users.logout": _("Signed out"),
    "users.session.expired": _("Session ended"),
    "users.access.locked": _("Portal access locked"),
    "users.access.unlocked": _("Portal access unlocked"),
    "users.access.blocked": _("Portal access blocked"),
    "users.access.unblocked": _("Portal access unblocked"),
    "users.password.changed": _("Password changed"),
    "users.phone.changed": _("Portal phone number changed"),
    "users.own_login.changed": _("Own login set"),
    "users.registration.started": _("Registration started"),
    "users.registration.completed": _("Registration completed"),
    "users.registration.refused": _("Registration refused"),
    "customers.customer.created": _("Customer created"),
    "customers.customer.updated": _("Customer data changed"),
    "accounts.account.created": _("Account opened"),
    "accounts.account.updated": _("Account changed"),
    "cards.card.issued": _("Card issued"),
    "cards.card.product_terms_applied": _("Product terms applied to the card"),
    "cards.card.active": _("Card activated or unblocked"),
    "cards.card.blocked": _("Card temporarily blocked"),
    "cards.card.cancelled": _("Card cancelled"),
    "cards.card.contactless_enabled": _("Contactless switched"),
    "cards.card.limits_changed": _("Card limits changed"),
    "cards.card.pin_changed": _("PIN changed"),
    "cards.card.wrong_pin_reset": _("Wrong-PIN counter reset"),
    "cards.card.mobile_payments_activated": _("Mobile payments activated"),
    "cards.card.mobile_payments_deactivated": _("Mobile payments switched off"),
    "cards.card.operation_refused": _("Card operation refused"),
    "secure3d.locked": _("Internet payments locked"),
    "secure3d.unlocked": _("Internet payments unlocked"),
    "secure3d.pin.changed": _("3-D Secure PIN set"),
    "secure3d.failure": _("Wrong 3-D Secure PIN or code"),
    "secure3d.exemption.changed": _("Low-value exemption switched"),
    "secure3d.merchant.added": _("Trusted merchant added"),
    "secure3d.merchant.removed": _("Trusted merchant removed"),
    "sca.code.sent": _("Confirmation code sent"),
    "sca.code.resent": _("Confirmation code sent again"),
    "sca.challenge.cancelled": _("Confirmation cancelled"),
    "sca.operation.refused": _("Confirmed operation refused"),
    "notifications.sms.failed": _("Text message not delivered"),
    "sca.code.failed": _("Wrong confirmation code"),
    "sca.operation.completed": _("Operation confirmed"),
}
_LABELS.update({f"backoffice.{name}": action.label for name, action in ACTIONS.items()})


def audit_action_label(code: str) -> str:
    label = _LABELS.get(code)
    return str(label) if label is not None else code


def staff_activity_action_choices() -> list[tuple[str, str]]:
    """The back-office action codes, for the activity filter."""
    codes = sorted(code for code in _LABELS if code.startswith("backoffice."))
    return [(code, audit_action_label(code)) for code in codes]


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
