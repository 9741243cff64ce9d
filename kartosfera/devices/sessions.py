"""The BS Pay app session: the device's signature AND a second factor, the app PIN or a passkey [ASVS 5.0 6.3.3].

A signed request proves only that it came from the phone holding the device key (one factor, possession). Every
endpoint but the activation and the ones below needs an app session, opened with the app PIN the holder chose at
activation (knowledge) or one of the holder's passkeys (a hardware, phishing-resistant factor with user
verification, as Level 3 wants). The session is held on the device row: ``session_started_at`` (the absolute
lifetime counts from it) and ``session_seen_at`` (the idle timeout; it moves on every request let through), the
portal's own values (SESSION_IDLE_TIMEOUT, SESSION_ABSOLUTE_LIFETIME, docs/sessions.md).

Three failed openings in a row (a wrong PIN, a refused passkey) block the device, as the bank (a system actor):
the count is kept under the device's row lock and committed before the refusal is raised, so that neither a
rollback nor two requests at once give a guesser a free try (docs/phone-payments.md, "The app session").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.devices.models import AppDevice, DeviceState
from kartosfera.devices.services import _refuse, device_actor, device_block_temporarily, device_pin_clean
from kartosfera.devices.sms_texts import SMS_APP_PIN_CHANGED
from kartosfera.notifications.services import sms_send
from kartosfera.sca.services import login_phone
from kartosfera.users.models import User
from kartosfera.users.passkeys import (
    CEREMONY_TIMEOUT,
    PasskeyRefused,
    RelyingParty,
    other_second_step_allowed,
    passkey_authentication_options,
    passkey_verify,
    user_has_passkey,
)

# Failed openings in a row that block the device (as 3 wrong passwords lock the portal, PSD2 RTS art. 4(3)(b)).
MAX_FAILURES = 3
# Who blocks a device after too many failures: the bank's system (the holder cannot lift it in the portal).
BLOCKER = Actor.system("BS Pay app session")
BLOCK_REASON = "Three failed app session openings in a row (wrong PIN or refused passkey)"
FACTOR_PIN = "pin"
FACTOR_PASSKEY = "passkey"


class SessionRefused(DomainError):
    """The app session was not opened: ``status`` is the HTTP answer, ``field`` the input it is about (if any)."""

    code = "session_refused"

    def __init__(self, message: str, *, code: str, status: int = 422, field: str = "") -> None:
        self.status = status
        self.field = field
        super().__init__(message, code=code)


def idle_timeout() -> dt.timedelta:
    return dt.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT)


def absolute_lifetime() -> dt.timedelta:
    return dt.timedelta(seconds=settings.SESSION_ABSOLUTE_LIFETIME)


def session_ends_at(device: AppDevice) -> dict[str, dt.datetime | None]:
    """When the open session ends if unused (idle) and at the latest (absolute); None for both without one."""
    if device.session_started_at is None or device.session_seen_at is None:
        return {"idle_expires_at": None, "expires_at": None}
    expires_at = device.session_started_at + absolute_lifetime()
    return {"idle_expires_at": min(device.session_seen_at + idle_timeout(), expires_at), "expires_at": expires_at}


def device_holder(device: AppDevice) -> User | None:
    """The portal user of the device's customer: whose passkeys open the session (None without portal access)."""
    return User.objects.filter(customer_id=device.customer_id).first()


# --- Every protected request ------------------------------------------------------------------------------------


def device_session_require(device: AppDevice) -> AppDevice:
    """Let the request through only within an open session, and move its idle stamp; else 401 session_required.

    One conditional UPDATE: two requests at once cannot revive a session that has just run out.
    """
    now = timezone.now()
    kept = AppDevice.objects.filter(
        pk=device.pk,
        state=DeviceState.ACTIVE,
        session_started_at__gt=now - absolute_lifetime(),
        session_seen_at__gt=now - idle_timeout(),
    ).update(session_seen_at=now)
    if kept:
        device.session_seen_at = now
        return device
    if device.session_started_at is not None:
        # It ran out: forget it, so that the app is told the same until it opens a new one.
        AppDevice.objects.filter(pk=device.pk, session_started_at=device.session_started_at).update(
            session_started_at=None, session_seen_at=None
        )
        raise _refuse(
            code="session_required",
            message=_("The app session has ended. Open a new one with your PIN or passkey."),
            device=device,
        )
    raise _refuse(
        code="session_required",
        message=_("Open an app session first: POST /session with your PIN or passkey."),
        device=device,
    )


# --- Passkey options --------------------------------------------------------------------------------------------


@transaction.atomic
def device_passkey_options(*, device: AppDevice, holder: User | None, rp: RelyingParty) -> dict[str, Any]:
    """The WebAuthn request options for one of the holder's passkeys; the challenge is kept on the device row.

    A new request replaces the challenge kept before; it is good for one answer, within CEREMONY_TIMEOUT.
    """
    if holder is None or not user_has_passkey(user=holder):
        raise SessionRefused(
            _("You have no passkey. Add one in the portal, or open the session with your PIN."),
            code="no_passkey",
            status=409,
        )
    locked = AppDevice.objects.select_for_update().get(pk=device.pk)
    options, challenge = passkey_authentication_options(user=holder, rp=rp)
    locked.passkey_challenge = bytes_to_base64url(challenge)
    locked.passkey_challenge_expires_at = timezone.now() + CEREMONY_TIMEOUT
    locked.save(update_fields=["passkey_challenge", "passkey_challenge_expires_at"])
    return options


def _challenge_take(device: AppDevice) -> bytes | None:
    """The kept challenge, removed at once (single use) whatever the answer; None if none or too old."""
    challenge, expires_at = device.passkey_challenge, device.passkey_challenge_expires_at
    device.passkey_challenge, device.passkey_challenge_expires_at = "", None
    device.save(update_fields=["passkey_challenge", "passkey_challenge_expires_at"])
    if not challenge or expires_at is None or timezone.now() >= expires_at:
        return None
    return base64url_to_bytes(challenge)


# --- Opening and ending -----------------------------------------------------------------------------------------


def _passkey_only(holder: User | None) -> bool:
    # The holder chose "passkey only", or the bank requires passkeys (PORTAL_PASSKEY_REQUIRED) [Level 3].
    return (
        holder is not None
        and user_has_passkey(user=holder)
        and not other_second_step_allowed(user=holder, has_passkey=True)
    )


def device_session_open(
    *,
    device: AppDevice,
    holder: User | None,
    rp: RelyingParty | None = None,
    pin: str | None = None,
    passkey: str | None = None,
) -> AppDevice:
    """Open the app session of the (signed-in) ``device`` with its app PIN or the answer to the passkey options.

    Exactly one of ``pin`` and ``passkey`` (with ``rp``, the relying party the options were made for). A wrong
    PIN or a refused passkey counts a failure and is audited (``devices.session.refused``); the third in a row
    blocks the device. The right one resets the count. Call outside any transaction: a failure is committed
    before SessionRefused is raised.
    """
    if (pin is None) == (passkey is None):
        raise ValidationFailed({"pin": _("Send the PIN or a passkey: one of the two.")})
    refusal: SessionRefused | None = None
    with transaction.atomic():
        locked = AppDevice.objects.select_for_update().get(pk=device.pk)
        failure = ""
        factor = ""
        if not locked.is_active:
            # Blocked between the signature check and the lock.
            refusal = SessionRefused(_("This device is blocked."), code="device_blocked", status=403)
        elif passkey is not None:
            challenge = _challenge_take(locked)
            if challenge is None or holder is None or rp is None:
                # No options waiting (never asked, already used, older than 3 minutes, or replaced by a retry):
                # nothing was checked, so nothing is counted; the app asks for new options.
                refusal = SessionRefused(
                    _("The passkey's options have expired or were already used. Ask for new ones."),
                    code="passkey_options_expired",
                    status=409,
                    field="passkey",
                )
            else:
                try:
                    passkey_verify(user=holder, rp=rp, challenge=challenge, response=passkey)
                except PasskeyRefused:
                    failure = "passkey_refused"
                else:
                    factor = FACTOR_PASSKEY
        elif _passkey_only(holder):
            # Not a guess, so not counted; the PIN is not even looked at.
            refusal = SessionRefused(
                _("Your settings require a passkey: open the session with your passkey, not the PIN."),
                code="passkey_required",
                status=403,
                field="pin",
            )
        elif not locked.pin_hash:
            refusal = _pin_not_set()
        elif check_password(pin or "", locked.pin_hash):
            factor = FACTOR_PIN
        else:
            failure = "pin_invalid"

        if factor:
            now = timezone.now()
            locked.session_failures = 0
            locked.session_started_at = locked.session_seen_at = now
            locked.save(update_fields=["session_failures", "session_started_at", "session_seen_at"])
            audit_record(
                actor=device_actor(locked),
                action="devices.session.opened",
                obj=locked,
                customer_id=locked.customer_id,
                after={"factor": factor},
            )
        elif failure:
            refusal = _failure_record(locked, failure=failure)
    if refusal is not None:
        raise refusal
    return locked


def _pin_not_set() -> SessionRefused:
    return SessionRefused(
        _("This device has no app PIN. Activate it again to set one, or use a passkey."),
        code="pin_not_set",
        status=409,
        field="pin",
    )


def _failure_record(device: AppDevice, *, failure: str, pin_field: str = "pin") -> SessionRefused:
    """Count and audit a failed opening of the locked ``device``; the third in a row blocks it (``pin_field``: the
    input a wrong PIN was sent in)."""
    device.session_failures += 1
    device.save(update_fields=["session_failures"])
    left = MAX_FAILURES - device.session_failures
    audit_record(
        actor=device_actor(device),
        action="devices.session.refused",
        obj=device,
        customer_id=device.customer_id,
        after={"reason": failure, "failures": device.session_failures},
    )
    if left <= 0:
        device_block_temporarily(actor=BLOCKER, device=device, reason=BLOCK_REASON)
        return SessionRefused(
            _("Three failed attempts in a row: this device is blocked. Contact the bank, or activate the app again."),
            code="device_blocked",
            status=403,
        )
    if failure == "pin_invalid":
        return SessionRefused(
            _("The PIN is not correct. Attempts left before the device is blocked: %(left)d.") % {"left": left},
            code="pin_invalid",
            field=pin_field,
        )
    return SessionRefused(
        _("The passkey could not be confirmed. Attempts left before the device is blocked: %(left)d.") % {"left": left},
        code="passkey_refused",
        field="passkey",
    )


def device_pin_change(*, device: AppDevice, current_pin: str, new_pin: str) -> AppDevice:
    """Change the app PIN of ``device`` (its session is open): the current PIN, then a new one [ASVS 5.0 6.2.2, 6.2.3].

    A wrong current PIN counts as a failed opening (the third in a row blocks the device), so a PIN change is no
    way round the session's tries; a right one resets the count, as a right opening does, even when the new PIN is
    refused. A holder whose session takes a passkey only has no PIN to change (refused, not counted, as the opening
    refuses it), and a device activated before app PINs existed gets its PIN by activating again, where the portal
    asks for the password and a confirmation. The change is audited and announced by SMS to the holder's code
    phone. Call outside any transaction: a failure is committed before SessionRefused is raised.
    """
    # Checked and hashed before the row lock is taken (Argon2id is slow on purpose).
    try:
        new_hash = make_password(device_pin_clean(new_pin))
    except ValidationFailed as exc:
        raise ValidationFailed({"new_pin": exc.field_errors["pin"]}) from exc
    holder = device_holder(device)
    refusal: SessionRefused | None = None
    with transaction.atomic():
        locked = AppDevice.objects.select_for_update().get(pk=device.pk)
        if not locked.is_active:
            refusal = SessionRefused(_("This device is blocked."), code="device_blocked", status=403)
        elif _passkey_only(holder):
            refusal = SessionRefused(
                _("Your settings require a passkey: the app PIN is not used."),
                code="passkey_required",
                status=403,
                field="current_pin",
            )
        elif not locked.pin_hash:
            refusal = _pin_not_set()
        elif not check_password(current_pin, locked.pin_hash):
            refusal = _failure_record(locked, failure="pin_invalid", pin_field="current_pin")
        else:
            locked.session_failures = 0
            if check_password(new_pin, locked.pin_hash):
                locked.save(update_fields=["session_failures"])
                refusal = SessionRefused(
                    _("The new PIN is the same as the current one. Choose another."),
                    code="pin_unchanged",
                    field="new_pin",
                )
            else:
                locked.pin_hash = new_hash
                locked.save(update_fields=["pin_hash", "session_failures"])
                audit_record(
                    actor=device_actor(locked),
                    action="devices.pin.changed",
                    obj=locked,
                    customer_id=locked.customer_id,
                    after={"name": locked.name},
                )
                phone = login_phone(holder) if holder is not None else None
                if phone:
                    sms_send(to=phone, message=SMS_APP_PIN_CHANGED.render(), purpose="devices.pin.changed")
    if refusal is not None:
        raise refusal
    return locked


@transaction.atomic
def device_session_end(*, device: AppDevice) -> AppDevice:
    """End the device's app session (the holder signs out in the app); nothing to do when none is open."""
    locked = AppDevice.objects.select_for_update().get(pk=device.pk)
    if locked.session_started_at is None:
        return locked
    locked.session_started_at = locked.session_seen_at = None
    locked.save(update_fields=["session_started_at", "session_seen_at"])
    audit_record(actor=device_actor(locked), action="devices.session.ended", obj=locked, customer_id=locked.customer_id)
    return locked
