"""BS Pay devices: activation codes, activation, the device's state machine, signed-request checks.

Every write locks the rows whose invariants it guards and writes its audit row
in the same transaction. A refusal that must be remembered (a wrong activation
code, a bad signature) is committed before the error is raised, as
kartosfera/sca/services.py commits a wrong SMS code: a rollback would give a
guesser a free try and leave no trace.
"""

from __future__ import annotations

import datetime as dt
import hmac
import itertools
import secrets
import unicodedata
import uuid
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.cards.operations import acts_for_bank
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.crypto import decrypt, encrypt, keyed_digest
from kartosfera.core.errors import Conflict, DomainError, InvalidTransition, ValidationFailed
from kartosfera.core.models import ActorType
from kartosfera.customers.models import Customer
from kartosfera.devices import signatures
from kartosfera.devices.models import (
    AppDevice,
    BlockedBy,
    DeviceActivationCode,
    DeviceRequestId,
    DeviceState,
)
from kartosfera.tokens.services import device_tokens_delete, device_tokens_resume, device_tokens_suspend

CODE_LENGTH = 8
CODE_LIFETIME = dt.timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 3
DEVICE_NAME_MAX_LENGTH = 64
REASON_MAX_LENGTH = 500
# A signed request's timestamp may differ from the server's clock by at most this much.
SIGNATURE_WINDOW = dt.timedelta(minutes=5)
# A request id must be remembered as long as a request carrying it could still
# pass the timestamp check: a timestamp up to the window ahead, accepted up to
# the window after it. Older ids are deleted (manage.py purge_device_request_ids).
REQUEST_ID_RETENTION = 2 * SIGNATURE_WINDOW
PIN_LENGTH = 6


# --- Errors ---------------------------------------------------------------------------------------


class ActivationRefused(DomainError):
    """An activation refused, whatever the reason, with one answer: the code ``code_invalid`` and one message.

    The endpoint is anonymous and names a person by their identifier: an answer that differed for a code
    already used, expired or out of tries (or said how many tries are left) would tell that the identifier
    is a customer's, and that they generated a code. ``reason`` (audited, never answered) says which it was.
    """

    code = "code_invalid"
    default_message = gettext_lazy(
        "The activation code is not correct or no longer valid. Check it, or generate a new one in the portal."
    )

    def __init__(self, *, reason: str, attempts_left: int = 0) -> None:
        self.reason = reason
        self.attempts_left = attempts_left
        super().__init__()


class DeviceAuthFailure(DomainError):
    """A signed request refused: ``status`` 401 (who is asking is not proven) or 403 (a blocked device)."""

    code = "not_authenticated"

    def __init__(self, message: str, *, code: str, status: int = 401) -> None:
        self.status = status
        super().__init__(message, code=code)


# --- Actors ---------------------------------------------------------------------------------------


def device_actor(device: AppDevice) -> Actor:
    """The audit actor of a signed app request: the holder, acting through this device."""
    return Actor(type=ActorType.CUSTOMER, id=f"device:{device.public_id}", label=f"BS Pay: {device.name}"[:200])


# --- Activation codes -----------------------------------------------------------------------------


def _code_digest(customer_id: int, code: str) -> str:
    # Bound to the customer: the same digits are a different digest for anybody else.
    return keyed_digest("devices.activation_code", f"{customer_id}:{code}")


def _normalize_code(code: str) -> str:
    return "".join((code or "").split()).replace("-", "")


@transaction.atomic
def device_activation_code_issue(*, actor: Actor, customer: Customer) -> DeviceActivationCode:
    """A new activation code for ``customer`` (confirmed by an SMS code first); older open codes end."""
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    now = timezone.now()
    DeviceActivationCode.objects.filter(customer=customer, used_at=None, superseded_at=None).update(
        superseded_at=now, code_ciphertext=""
    )
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    activation = DeviceActivationCode.objects.create(
        customer=customer,
        code_digest=_code_digest(customer.pk, code),
        code_ciphertext=encrypt(code),
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        max_attempts=CODE_MAX_ATTEMPTS,
    )
    audit_record(
        actor=actor,
        action="devices.activation_code.issued",
        obj=activation,
        customer_id=customer.pk,
        after={"expires_at": activation.expires_at.isoformat()},
    )
    return activation


@transaction.atomic
def device_activation_code_reveal(*, actor: Actor, activation: DeviceActivationCode) -> str | None:
    """The code, the first time only (its encrypted copy is wiped); None once it has been shown."""
    activation = DeviceActivationCode.objects.select_for_update().get(pk=activation.pk)
    if not activation.code_ciphertext:
        return None
    code = decrypt(activation.code_ciphertext)
    activation.code_ciphertext = ""
    activation.shown_at = timezone.now()
    activation.save(update_fields=["code_ciphertext", "shown_at"])
    audit_record(
        actor=actor, action="devices.activation_code.shown", obj=activation, customer_id=activation.customer_id
    )
    return code


def device_activation_codes_unshown_wipe() -> int:
    """Wipe the encrypted copy of codes that expired before anybody saw them; return how many."""
    return (
        DeviceActivationCode.objects.filter(expires_at__lte=timezone.now())
        .exclude(code_ciphertext="")
        .update(code_ciphertext="")
    )


def device_name_clean(name: str) -> str:
    """The device name as stored: trimmed, 1-64 printable characters."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationFailed({"device_name": _("Give the device a name.")})
    if len(cleaned) > DEVICE_NAME_MAX_LENGTH:
        raise ValidationFailed({"device_name": _("The device name can have at most 64 characters.")})
    if any(unicodedata.category(char).startswith("C") for char in cleaned):
        raise ValidationFailed({"device_name": _("The device name contains characters that are not allowed.")})
    return cleaned


def _pin_is_a_run(digits: list[int]) -> bool:
    # All the same digit, or each one up or down by one (wrapping: 890123 and 210987 too).
    steps = {(b - a) % 10 for a, b in itertools.pairwise(digits)}
    return steps in ({0}, {1}, {9})


def device_pin_clean(pin: str) -> str:
    """The app PIN the holder chose: exactly 6 digits, not one digit six times nor a run such as 123456 or 654321."""
    pin = pin or ""
    if len(pin) != PIN_LENGTH or not all(char in "0123456789" for char in pin):
        raise ValidationFailed({"pin": _("The PIN must be exactly 6 digits.")})
    if _pin_is_a_run([int(char) for char in pin]):
        raise ValidationFailed(
            {"pin": _("This PIN is too easy to guess. Do not use one digit six times or a run such as 123456.")}
        )
    return pin


def device_activate(
    *,
    customer: Customer | None,
    code: str,
    public_key: str,
    device_name: str,
    pin: str,
    actor: Actor | None = None,
) -> AppDevice:
    """Activate a new device of ``customer`` with their activation code, its Ed25519 public key, name and app PIN.

    The PIN (the knowledge factor of the app session, kartosfera/devices/sessions.py) is kept only as a password
    hash (the project's hasher, Argon2id); it is checked, like the name and the key, before the code is tried.

    ``customer`` is None when the identifier matched nobody: refused as any other
    code is (ActivationRefused, one answer), so that the answer does not tell who
    is a customer nor whether they have a code. A wrong code
    counts a try (committed before the error is raised: call this outside any
    transaction); three wrong end the code. ``actor`` defaults to the new
    device itself (the app activates); the demo loader passes its own.
    """
    name = device_name_clean(device_name)
    key = signatures.public_key_parse(public_key)
    if key is None:
        raise ValidationFailed({"public_key": _("Send the device's Ed25519 public key: 32 bytes in base64.")})
    # Hashed before the row locks are taken (Argon2id is slow on purpose), whatever the code turns out to be.
    pin_hash = make_password(device_pin_clean(pin))
    error: ActivationRefused | None = None
    device: AppDevice | None = None
    with transaction.atomic():
        activation = None
        if customer is not None:
            activation = (
                DeviceActivationCode.objects.select_for_update()
                .filter(customer=customer, superseded_at=None)
                .order_by("-created_at", "-pk")
                .first()
            )
        after: dict[str, Any] = {}
        if activation is None:
            error = ActivationRefused(reason="code_invalid")
        elif activation.used_at is not None:
            error = ActivationRefused(reason="code_used")
        elif activation.attempts >= activation.max_attempts:
            error = ActivationRefused(reason="too_many_attempts")
        elif activation.is_expired():
            error = ActivationRefused(reason="code_expired")
        elif not hmac.compare_digest(
            activation.code_digest, _code_digest(activation.customer_id, _normalize_code(code))
        ):
            activation.attempts += 1
            activation.save(update_fields=["attempts"])
            after["attempts_left"] = activation.attempts_left
            error = ActivationRefused(
                reason="too_many_attempts" if activation.attempts_left == 0 else "code_invalid",
                attempts_left=activation.attempts_left,
            )
        elif AppDevice.objects.filter(public_key=key).exists():
            # A new activation needs a new key pair: a key once registered (even of a
            # permanently blocked device) never identifies another device.
            raise Conflict(
                _("This public key is already registered. Generate a new key pair on the device."),
                code="public_key_registered",
            )
        else:
            now = timezone.now()
            device = AppDevice.objects.create(
                customer_id=activation.customer_id,
                name=name,
                public_key=key,
                pin_hash=pin_hash,
                activated_at=now,
                state_changed_at=now,
            )
            activation.used_at = now
            activation.device = device
            activation.code_ciphertext = ""
            activation.save(update_fields=["used_at", "device", "code_ciphertext"])
            audit_record(
                actor=actor or device_actor(device),
                action="devices.device.activated",
                obj=device,
                customer_id=device.customer_id,
                after={"name": device.name, "state": device.state},
            )
        if error is not None:
            after["reason"] = error.reason
            audit_record(
                actor=actor or Actor.anonymous(),
                action="devices.activation.refused",
                obj=activation,
                customer_id=customer.pk if customer is not None else None,
                after=after,
            )
    if error is not None:
        raise error
    assert device is not None
    return device


# --- The device's state machine -------------------------------------------------------------------


def _lock(device: AppDevice) -> AppDevice:
    return AppDevice.objects.select_for_update().get(pk=device.pk)


def _reason_clean(reason: str, *, required: bool) -> str:
    cleaned = " ".join((reason or "").split())
    if required and not cleaned:
        raise ValidationFailed({"reason": _("Give the reason.")})
    if len(cleaned) > REASON_MAX_LENGTH:
        raise ValidationFailed({"reason": _("The reason can have at most 500 characters.")})
    return cleaned


def _transition(*, actor: Actor, device: AppDevice, to_state: str, reason: str = "") -> dict[str, Any]:
    """Move the locked ``device`` to ``to_state`` along the state machine; returns the audit row's ``before``."""
    if not device.can_become(to_state):
        raise InvalidTransition(_("The device cannot change to this state now."), code="invalid_transition")
    before = {"state": device.state}
    device.state = to_state
    device.state_changed_at = timezone.now()
    if to_state == DeviceState.ACTIVE:
        device.blocked_by = device.blocked_by_label = device.block_reason = ""
        # Unblocked: the failed openings that led to a block are forgiven, as a completed sign-in would.
        device.session_failures = 0
    else:
        device.blocked_by = BlockedBy.BANK if acts_for_bank(actor) else BlockedBy.HOLDER
        device.blocked_by_label = actor.label[:200]
        device.block_reason = reason
    # A block ends the app session at once; an unblocked device opens a new one with its PIN or a passkey.
    device.session_started_at = device.session_seen_at = None
    device.passkey_challenge, device.passkey_challenge_expires_at = "", None
    device.save(
        update_fields=[
            "state",
            "state_changed_at",
            "blocked_by",
            "blocked_by_label",
            "block_reason",
            "session_failures",
            "session_started_at",
            "session_seen_at",
            "passkey_challenge",
            "passkey_challenge_expires_at",
        ]
    )
    return before


def _after(device: AppDevice) -> dict[str, Any]:
    after: dict[str, Any] = {"state": device.state, "name": device.name}
    if device.block_reason:
        after["reason"] = device.block_reason
    return after


@transaction.atomic
def device_block_temporarily(*, actor: Actor, device: AppDevice, reason: str = "") -> AppDevice:
    """Block a device at once (no code: it must work with the phone lost); its requests are refused from now.

    The bank (staff) gives a reason; the holder need not.
    """
    device = _lock(device)
    reason = _reason_clean(reason, required=acts_for_bank(actor))
    before = _transition(actor=actor, device=device, to_state=DeviceState.BLOCKED_TEMPORARILY, reason=reason)
    audit_record(
        actor=actor,
        action="devices.device.blocked",
        obj=device,
        customer_id=device.customer_id,
        before=before,
        after=_after(device),
    )
    # In the block's transaction: the device's BS Pay tokens stop paying with it.
    device_tokens_suspend(actor=actor, device=device)
    return device


@transaction.atomic
def device_unblock(*, actor: Actor, device: AppDevice) -> AppDevice:
    """Lift a temporary block (the portal confirms it with an SMS code); a bank's block, the bank only."""
    device = _lock(device)
    if device.blocked_by == BlockedBy.BANK and not acts_for_bank(actor):
        raise InvalidTransition(
            _("The bank has blocked this device. Contact the bank to unblock it."), code="blocked_by_bank"
        )
    before = _transition(actor=actor, device=device, to_state=DeviceState.ACTIVE)
    audit_record(
        actor=actor,
        action="devices.device.unblocked",
        obj=device,
        customer_id=device.customer_id,
        before=before,
        after=_after(device),
    )
    device_tokens_resume(actor=actor, device=device)
    return device


@transaction.atomic
def device_block_permanently(*, actor: Actor, device: AppDevice, reason: str = "") -> AppDevice:
    """Block a device for good: it never works again; the phone is activated anew as a new device (a new key)."""
    device = _lock(device)
    reason = _reason_clean(reason, required=acts_for_bank(actor))
    before = _transition(actor=actor, device=device, to_state=DeviceState.BLOCKED_PERMANENTLY, reason=reason)
    audit_record(
        actor=actor,
        action="devices.device.blocked_permanently",
        obj=device,
        customer_id=device.customer_id,
        before=before,
        after=_after(device),
    )
    # It never works again: neither do the BS Pay tokens on it.
    device_tokens_delete(actor=actor, device=device)
    return device


# --- Signed requests ------------------------------------------------------------------------------


def _refuse(*, code: str, message: str, status: int = 401, device: AppDevice | None = None) -> DeviceAuthFailure:
    # Its own transaction: the refusal is recorded whatever the request does next.
    with transaction.atomic():
        audit_record(
            actor=device_actor(device) if device is not None else Actor.anonymous(),
            action="devices.request.refused",
            obj=device,
            customer_id=device.customer_id if device is not None else None,
            after={"reason": code},
        )
    return DeviceAuthFailure(message, code=code, status=status)


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None


def device_request_authenticate(
    *,
    device_id: str,
    timestamp: str,
    request_id: str,
    signature: str,
    method: str,
    path: str,
    body: bytes,
) -> AppDevice:
    """The device that signed this request, or DeviceAuthFailure (audited): 401, or 403 for a blocked device.

    Checked in this order: the headers, the device, the signature, the clock,
    the device's state, the request id (once per device). The request id is
    stored only for a request that passed every other check, so nobody can
    use up somebody's ids with unsigned requests.
    """
    if not (device_id and timestamp and request_id and signature):
        raise _refuse(
            code="signature_missing",
            message=_("Sign the request: send X-Device-Id, X-Timestamp, X-Request-Id and X-Signature."),
        )
    public_id = _as_uuid(device_id)
    device = AppDevice.objects.filter(public_id=public_id).first() if public_id is not None else None
    if device is None:
        raise _refuse(code="unknown_device", message=_("This device is not known. Activate it again."))
    if not signatures.REQUEST_ID_PATTERN.match(request_id):
        raise _refuse(
            code="request_id_invalid",
            message=_("X-Request-Id must be 16 to 64 letters, digits, hyphens or underscores."),
            device=device,
        )
    message = signatures.canonical_string(
        method=method, path=path, timestamp=timestamp, request_id=request_id, body=body
    )
    if not signatures.signature_valid(public_key=device.public_key, signature=signature, message=message):
        raise _refuse(
            code="signature_invalid", message=_("The signature does not match this device's key."), device=device
        )
    now = timezone.now()
    try:
        sent_at = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        sent_at = None
    if sent_at is None or abs(now - sent_at) > SIGNATURE_WINDOW:
        raise _refuse(
            code="clock_skew",
            message=_("The request's time is more than 5 minutes from the server's. Check the device's clock."),
            device=device,
        )
    if not device.is_active:
        raise _refuse(code="device_blocked", message=_("This device is blocked."), status=403, device=device)
    try:
        with transaction.atomic():
            DeviceRequestId.objects.create(device=device, request_id=request_id, seen_at=now)
            AppDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
    except IntegrityError:
        raise _refuse(
            code="replayed", message=_("This request id has already been used. Send a new one."), device=device
        ) from None
    device.last_seen_at = now
    return device


def device_request_ids_purge(*, now: dt.datetime | None = None) -> int:
    """Delete request ids too old to be replayed (outside every timestamp window); return how many."""
    cutoff = (now or timezone.now()) - REQUEST_ID_RETENTION
    deleted, _counts = DeviceRequestId.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
