"""A staff member's own passkeys: proving it is them again before they change how they sign in.

[ASVS 5.0 6.3.3 at Level 3] a passkey is the back office's phishing-resistant factor. Adding, removing one and
turning "passkey only" on or off are the core services' (kartosfera/users/passkeys.py, which write the audit
rows, actor = the member); before any of them the member confirms, in the same session and within
``REAUTHENTICATION_VALIDITY``, with a factor as strong as their sign-in: an existing passkey, or the
authenticator app's code while that still signs them in (``staff_login_code_allowed``) [ASVS 5.0 7.5.1]. A
session taken over by somebody else (a computer left unlocked) so cannot add the intruder's own authenticator.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from kartosfera.backoffice.auth import _staff_bank_id, staff_login_code_allowed
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.users.models import Passkey, User
from kartosfera.users.passkeys import PasskeyRefused, RelyingParty, passkey_verify

# Long enough to add a passkey and name it, short enough that a session left open does not stay confirmed.
REAUTHENTICATION_VALIDITY = dt.timedelta(minutes=5)


@transaction.atomic
def _refused(user: User, *, step: str) -> None:
    audit_record(
        actor=Actor.for_user(user),
        action="backoffice.staff.reauthentication_refused",
        obj=user,
        bank_id=_staff_bank_id(user),
        after={"step": step},
    )


def staff_reauthenticate_code(*, user: User, code: str) -> TOTPDevice:
    """The member's TOTP device that accepted ``code`` (each code works once), or ValidationFailed (audited).

    DomainError when the code no longer signs this member in ("passkey only", the Level 3 mode): confirming with
    a weaker factor than the sign-in's would make the confirmation pointless.
    """
    if not staff_login_code_allowed(user=user):
        raise DomainError(_("Confirm with one of your passkeys."), code="passkey_required")
    code = "".join((code or "").split())
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk").first()
        verified = device is not None and code.isdigit() and len(code) == device.digits and device.verify_token(code)
    if not verified or device is None:
        _refused(user, step="code")
        raise ValidationFailed({"code": _("The code is not correct. Enter the code the app shows now.")})
    return device


def staff_reauthenticate_passkey(*, user: User, rp: RelyingParty, challenge: bytes, response: str) -> Passkey:
    """The member's passkey that signed ``challenge``; PasskeyRefused (audited by passkey_verify and here)."""
    try:
        return passkey_verify(user=user, rp=rp, challenge=challenge, response=response)
    except PasskeyRefused:
        _refused(user, step="passkey")
        raise
