"""Passkeys (WebAuthn): adding, using and removing them, for cardholders and staff alike (docs/passkeys.md).

A passkey is a phishing-resistant, hardware-backed factor [ASVS 5.0 6.3.3 at Level 3]: the authenticator (a
phone, a computer's chip, a security key) keeps the private key, asks for the user's fingerprint, face or device
PIN (user verification, required here, so one passkey proves possession and the person), and signs a fresh
challenge bound to this site's origin; a look-alike site gets nothing it could use. The WebAuthn checks
themselves are py_webauthn's (Duo Labs); this module keeps the credentials, the rules around them and the audit.

The ceremony has two halves: the options (with a random challenge) go to the browser or the app, and its signed
answer comes back. The caller keeps the challenge between them (``challenge_remember`` / ``challenge_take`` in
the session for web pages), single use and short-lived, so an answer can never be replayed.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.texts import SmsText
from kartosfera.sca.services import login_phone
from kartosfera.users.models import Passkey, User, UserKind
from kartosfera.users.sms_texts import SMS_PASSKEY_ADDED, SMS_PASSKEY_REMOVED

# Enough for a phone, a computer and two security keys, with room; a cap keeps one account from filling the table.
PASSKEYS_PER_USER = 10
NAME_MAX_LENGTH = 64
# How long the user has to answer the authenticator's prompt; the challenge is dropped after it.
CEREMONY_TIMEOUT = dt.timedelta(minutes=3)
_SESSION_KEY = "passkey_ceremony"


class PasskeyRefused(DomainError):
    """The authenticator's answer did not prove the passkey (or could not be read): nothing was signed in or added.

    One message whatever failed (a wrong origin, a stale challenge, a forged signature): the details go to the
    audit trail, not to whoever sent the answer.
    """

    default_message = gettext_lazy("The passkey could not be confirmed. Please try again.")
    code = "passkey_refused"


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys belong to: the domain they are bound to and the origins an answer may come from."""

    id: str
    name: str
    origins: tuple[str, ...]


def relying_party(*, host: str, secure: bool) -> RelyingParty:
    """The relying party of a request to ``host`` (``request.get_host()``, already checked against ALLOWED_HOSTS).

    PASSKEY_RP_ID and PASSKEY_ORIGINS override the request's own host and origin (a shared parent domain, the
    BS Pay app's origins); the defaults bind passkeys to exactly the site that served the page.
    """
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    origins = tuple(settings.PASSKEY_ORIGINS) or (f"{'https' if secure else 'http'}://{host}",)
    return RelyingParty(id=settings.PASSKEY_RP_ID or hostname.lower(), name=settings.PASSKEY_RP_NAME, origins=origins)


# --- The challenge between the two halves (web pages) ---------------------------------------------------------------


# At most this many ceremonies wait at once in one session (a sign-in, a step-up in another tab, ...).
_CEREMONIES_PER_SESSION = 5


def challenge_remember(session: MutableMapping[str, Any], *, purpose: str, user_id: int, challenge: bytes) -> None:
    """Keep the challenge for the answer to ``purpose`` (a new one for the same purpose replaces the last).

    One slot per purpose, so that a passkey page opened in another tab does not void this one's challenge.
    """
    kept = session.get(_SESSION_KEY)
    waiting = dict(kept) if isinstance(kept, dict) and "purpose" not in kept else {}
    waiting.pop(purpose, None)
    waiting[purpose] = {
        "user_id": user_id,
        "challenge": bytes_to_base64url(challenge),
        "expires": (timezone.now() + CEREMONY_TIMEOUT).isoformat(),
    }
    session[_SESSION_KEY] = dict(list(waiting.items())[-_CEREMONIES_PER_SESSION:])


def challenge_take(session: MutableMapping[str, Any], *, purpose: str, user_id: int) -> bytes | None:
    """The challenge kept for ``purpose`` of ``user_id``, removed at once (single use), or None if none is valid."""
    waiting = session.get(_SESSION_KEY)
    if not isinstance(waiting, dict) or not isinstance(waiting.get(purpose), dict):
        return None
    waiting = dict(waiting)
    kept = waiting.pop(purpose)
    session[_SESSION_KEY] = waiting
    if kept.get("user_id") != user_id:
        return None
    try:
        expires = dt.datetime.fromisoformat(str(kept["expires"]))
        challenge = base64url_to_bytes(str(kept["challenge"]))
    except (KeyError, ValueError):
        return None
    return challenge if timezone.now() < expires else None


# --- Reading --------------------------------------------------------------------------------------------------------


def passkeys_of(*, user: User) -> list[Passkey]:
    """The user's passkeys, oldest first."""
    return list(Passkey.objects.filter(user=user))


def passkey_of_user_get(*, user: User, public_id: Any) -> Passkey:
    """The user's passkey ``public_id``; Passkey.DoesNotExist for anybody else's (the view answers 404)."""
    return Passkey.objects.get(user=user, public_id=public_id)


def user_has_passkey(*, user: User) -> bool:
    return Passkey.objects.filter(user=user).exists()


def passkey_required(*, user: User) -> bool:
    """Does the deployment's Level 3 mode make a passkey the only second step for this kind of user?"""
    if user.kind == UserKind.STAFF:
        return bool(settings.BACKOFFICE_PASSKEY_REQUIRED)
    return bool(settings.PORTAL_PASSKEY_REQUIRED)


def other_second_step_allowed(*, user: User, has_passkey: bool) -> bool:
    """May this user still finish a sign-in with the SMS code (cardholders) or authenticator-app code (staff)?

    Not once they have a passkey and either chose "passkey only" or the deployment requires passkeys [ASVS 5.0
    6.6.1 at Level 3]. Without a passkey the older step stays: it is how they sign in to add one.
    """
    if not has_passkey:
        return True
    return not (user.passkey_only or passkey_required(user=user))


def _staff_bank_id(user: User) -> int | None:
    # A staff member's passkey events belong to their bank's activity log, as their sign-ins do, so that the
    # bank's supervisors see them. Read through the reverse relation: the back office sits above this app.
    member = getattr(user, "staff_member", None) if user.kind == UserKind.STAFF else None
    return getattr(member, "bank_id", None)


def _announce(user: User, message: SmsText, *, purpose: str) -> None:
    # A new or removed way to sign in is announced to the cardholder's code phone [ASVS 5.0 6.3.7], so that a
    # hijacked session cannot add its own passkey unnoticed. Staff changes are in the audit trail.
    phone = login_phone(user) if user.kind == UserKind.CUSTOMER else None
    if phone:
        sms_send(to=phone, message=message, purpose=purpose)


def confirms_with_passkey(user: User) -> bool:
    """Are this user's step-up confirmations made with their passkey (no SMS code at all)?

    Exactly when their sign-in takes the passkey alone: one rule for signing in and confirming [ASVS 5.0 6.6.1].
    """
    if user.kind != UserKind.CUSTOMER or (not user.passkey_only and not passkey_required(user=user)):
        return False
    return user_has_passkey(user=user)


# --- Adding ---------------------------------------------------------------------------------------------------------


def _user_handle(user: User) -> bytes:
    # WebAuthn's user handle must not identify the person (no PESEL, no login): a keyed digest of the row id.
    return salted_hmac("kartosfera.users.passkeys.user_handle", str(user.pk), algorithm="sha256").digest()[:32]


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    known = {transport.value for transport in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(passkey.credential_id),
            transports=[AuthenticatorTransport(t) for t in passkey.transports if t in known] or None,
        )
        for passkey in passkeys
    ]


def passkey_registration_options(*, user: User, rp: RelyingParty, account_name: str) -> tuple[dict[str, Any], bytes]:
    """The options for adding a passkey (as JSON-ready data for the browser) and their challenge to keep.

    ``account_name`` is what the user's authenticator lists the passkey under (their login or name).
    """
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=_user_handle(user),
        user_name=account_name,
        user_display_name=account_name,
        timeout=int(CEREMONY_TIMEOUT.total_seconds() * 1000),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        # The same authenticator twice would be one factor counted as two.
        exclude_credentials=_descriptors(passkeys_of(user=user)),
    )
    return json.loads(options_to_json(options)), options.challenge


def passkey_name_clean(name: str) -> str:
    """The name the user gives a passkey: 1 to 64 printable characters, spaces squeezed."""
    cleaned = " ".join(unicodedata.normalize("NFC", name or "").split())
    if not cleaned:
        raise ValidationFailed({"name": _("Give the passkey a name, for example the device it is on.")})
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ValidationFailed(
            {"name": _("The name can be at most %(limit)d characters long.") % {"limit": NAME_MAX_LENGTH}}
        )
    if any(unicodedata.category(char).startswith("C") for char in cleaned):
        raise ValidationFailed({"name": _("The name contains characters that cannot be shown.")})
    return cleaned


def _refusal_record(*, user: User, action: str, reason: str) -> None:
    # Each action written out, so that the audit registry's test finds every action the code records.
    with transaction.atomic():
        common: dict[str, Any] = {
            "obj": user,
            "customer_id": user.customer_id,
            "bank_id": _staff_bank_id(user),
            "after": {"reason": reason},
        }
        if action == "users.passkey.add_refused":
            audit_record(actor=Actor.for_user(user), action="users.passkey.add_refused", **common)
        else:
            audit_record(actor=Actor.for_user(user), action="users.passkey.use_refused", **common)


def passkey_register(
    *, actor: Actor, user: User, rp: RelyingParty, challenge: bytes, response: str, name: str
) -> Passkey:
    """Check the authenticator's answer to the registration options and keep the new passkey.

    User verification is required (the authenticator asked for a fingerprint, face or PIN), so the passkey alone
    is two factors. A passkey synced between devices is refused when PASSKEY_ALLOW_SYNCED is off. A refused
    answer is audited in a transaction of its own (the attempt's own is rolled back). Raises PasskeyRefused,
    DomainError (limit, already added) or ValidationFailed (the name).
    """
    try:
        return _passkey_register(actor=actor, user=user, rp=rp, challenge=challenge, response=response, name=name)
    except _RefusalToRecord as exc:
        exc.record()
        raise


@transaction.atomic
def _passkey_register(
    *, actor: Actor, user: User, rp: RelyingParty, challenge: bytes, response: str, name: str
) -> Passkey:
    name = passkey_name_clean(name)
    locked = User.objects.select_for_update().get(pk=user.pk)
    if Passkey.objects.filter(user=locked).count() >= PASSKEYS_PER_USER:
        raise DomainError(
            _("You already have %(limit)d passkeys. Remove one you no longer use first.")
            % {"limit": PASSKEYS_PER_USER},
            code="passkey_limit",
        )
    try:
        verified = verify_registration_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise _refused_after(user=locked, action="users.passkey.add_refused", reason=type(exc).__name__) from exc
    # Backup eligibility (the BE flag: a multi-device passkey), not only "backed up already" (BS): a passkey that
    # may sync later is not device-bound either.
    if verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE and not settings.PASSKEY_ALLOW_SYNCED:
        raise _refused_after(
            user=locked,
            action="users.passkey.add_refused",
            reason="synced_not_allowed",
            message=_(
                "Your bank accepts only passkeys kept on one device (a security key or the device's own chip), "
                "not passkeys synced between devices."
            ),
        )
    credential_id = bytes_to_base64url(verified.credential_id)
    if Passkey.objects.filter(credential_id=credential_id).exists():
        raise DomainError(_("This passkey has already been added."), code="passkey_exists")
    transports = _transports_of(response)
    passkey = Passkey.objects.create(
        user=locked,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=name,
        aaguid=str(verified.aaguid),
        transports=transports,
        backed_up=verified.credential_backed_up,
    )
    audit_record(
        actor=actor,
        action="users.passkey.added",
        obj=locked,
        customer_id=locked.customer_id,
        bank_id=_staff_bank_id(locked),
        after={"name": passkey.name, "passkey": str(passkey.public_id), "synced": passkey.backed_up},
    )
    _announce(locked, SMS_PASSKEY_ADDED.render(), purpose="users.passkey.added")
    return passkey


class _RefusalToRecord(PasskeyRefused):
    """A refusal whose audit row must be written after the caller's transaction is rolled back."""

    def __init__(self, message: Any = None, *, user: User, action: str, reason: str) -> None:
        super().__init__(message)
        self.user = user
        self.action = action
        self.reason = reason
        self.inside_a_transaction = False

    def record(self) -> None:
        """Write the refusal's audit row (in a transaction of its own, or a savepoint of the caller's)."""
        self.inside_a_transaction = transaction.get_connection().in_atomic_block
        _refusal_record(user=self.user, action=self.action, reason=self.reason)

    def record_after_rollback(self) -> None:
        """Write the row again after the caller's transaction, which held it, was rolled back.

        A passkey added through a step-up confirmation is checked inside the confirmation's transaction
        (``sca.stepup.stepup_complete``), whose rollback takes the refusal's row with it; the confirmation calls
        this once it has rolled back, so that the reason (a phishing origin, a synced passkey) is not lost.
        """
        if self.inside_a_transaction:
            _refusal_record(user=self.user, action=self.action, reason=self.reason)


def _refused_after(*, user: User, action: str, reason: str, message: Any = None) -> PasskeyRefused:
    return _RefusalToRecord(message, user=user, action=action, reason=reason)


def _transports_of(response: str) -> list[str]:
    try:
        transports = json.loads(response).get("response", {}).get("transports", [])
    except (ValueError, AttributeError, RecursionError):
        return []
    known = {transport.value for transport in AuthenticatorTransport}
    return [t for t in transports if isinstance(t, str) and t in known][:8] if isinstance(transports, list) else []


# --- Using ----------------------------------------------------------------------------------------------------------


def passkey_authentication_options(
    *, user: User, rp: RelyingParty, challenge: bytes | None = None
) -> tuple[dict[str, Any], bytes]:
    """The options asking for one of the user's passkeys (user verification required) and their challenge.

    ``challenge`` (random, and for a step-up bound to the operation) replaces the library's random one.
    """
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=int(CEREMONY_TIMEOUT.total_seconds() * 1000),
        allow_credentials=_descriptors(passkeys_of(user=user)),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return json.loads(options_to_json(options)), options.challenge


def _credential_id_of(response: str) -> str | None:
    try:
        data = json.loads(response)
    except (ValueError, RecursionError):  # a deeply nested answer is junk, not a server error
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 1366 else None


def passkey_verify(*, user: User, rp: RelyingParty, challenge: bytes, response: str) -> Passkey:
    """Check the answer to ``passkey_authentication_options``: one of *this user's* passkeys signed the challenge.

    Under the passkey's row lock, so that two answers at once cannot both pass one counter value. A counter that
    goes back means a cloned authenticator: refused. A refusal is audited (``users.passkey.use_refused``) and
    raised as PasskeyRefused; counting it towards the sign-in lock is the caller's (it knows the sign-in).
    """
    try:
        return _passkey_verify(user=user, rp=rp, challenge=challenge, response=response)
    except _RefusalToRecord as exc:
        exc.record()
        raise


@transaction.atomic
def _passkey_verify(*, user: User, rp: RelyingParty, challenge: bytes, response: str) -> Passkey:
    credential_id = _credential_id_of(response)
    passkey = (
        Passkey.objects.select_for_update().filter(user=user, credential_id=credential_id).first()
        if credential_id
        else None
    )
    if passkey is None:
        raise _refused_after(user=user, action="users.passkey.use_refused", reason="unknown_credential")
    try:
        verified = verify_authentication_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, RecursionError) as exc:
        reason = "sign_count" if "sign count" in str(exc).lower() else type(exc).__name__
        raise _refused_after(user=user, action="users.passkey.use_refused", reason=reason) from exc
    passkey.sign_count = verified.new_sign_count
    passkey.backed_up = verified.credential_backed_up
    passkey.last_used_at = timezone.now()
    passkey.save(update_fields=["sign_count", "backed_up", "last_used_at"])
    return passkey


# --- Removing and the "passkey only" choice -------------------------------------------------------------------------


@transaction.atomic
def passkey_remove(*, actor: Actor, passkey: Passkey) -> None:
    """Remove a passkey; the last one cannot go while it is the only way to finish a sign-in."""
    user = User.objects.select_for_update().get(pk=passkey.user_id)
    remaining = Passkey.objects.filter(user=user).exclude(pk=passkey.pk).count()
    if remaining == 0 and (user.passkey_only or passkey_required(user=user)):
        raise DomainError(
            _("This is your only passkey and signing in needs it. Add another passkey before removing this one."),
            code="last_passkey",
        )
    name, public_id = passkey.name, str(passkey.public_id)
    passkey.delete()
    audit_record(
        actor=actor,
        action="users.passkey.removed",
        obj=user,
        customer_id=user.customer_id,
        bank_id=_staff_bank_id(user),
        after={"name": name, "passkey": public_id},
    )
    _announce(user, SMS_PASSKEY_REMOVED.render(), purpose="users.passkey.removed")


@transaction.atomic
def passkey_only_set(*, actor: Actor, user: User, enabled: bool) -> User:
    """Turn "sign in with a passkey only" on or off (on needs a passkey on file)."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if enabled and not Passkey.objects.filter(user=locked).exists():
        raise DomainError(_("Add a passkey first."), code="no_passkey")
    if locked.passkey_only == enabled:
        return locked
    locked.passkey_only = enabled
    locked.save(update_fields=["passkey_only"])
    audit_record(
        actor=actor,
        action="users.passkey_only.changed",
        obj=locked,
        customer_id=locked.customer_id,
        bank_id=_staff_bank_id(locked),
        before={"passkey_only": not enabled},
        after={"passkey_only": enabled},
    )
    return locked
