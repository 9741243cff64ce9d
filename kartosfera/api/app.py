"""The BS Pay app's API (/api/app/v1/): activation, then requests signed with the device's Ed25519 key.

Thin endpoints: the signature is checked by kartosfera.devices.services
(device_request_authenticate), cards are reached through the device's holder,
and each write calls the same service as the portal. See docs/phone-payments.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited
from ninja import Field, NinjaAPI, Path, Schema, Status
from ninja.security import APIKeyHeader
from pydantic import ConfigDict, Strict, model_validator

from kartosfera.api.base import _json_method_not_allowed
from kartosfera.api.errors import ApiError, error_response, install_exception_handlers
from kartosfera.blik.models import BlikChannel
from kartosfera.blik.selectors import blik_state
from kartosfera.blik.services import blik_switch_off, blik_switch_on
from kartosfera.cards.models import Card
from kartosfera.cards.operations import card_state
from kartosfera.cards.operations_services import card_block_temporarily
from kartosfera.cards.selectors import card_get_for_customer, card_list_for_customer
from kartosfera.cards.stepup_operations import (
    CARD_ACTIVATE,
    CARD_LIMITS_CHANGE,
    CARD_MOBILE_PAYMENTS_SET,
    CARD_UNBLOCK,
    limits_change_payload,
)
from kartosfera.customers.identity import mask_phone
from kartosfera.customers.models import StopChannel
from kartosfera.devices import signatures
from kartosfera.devices.models import AppDevice
from kartosfera.devices.services import DeviceAuthFailure, device_activate, device_actor, device_request_authenticate
from kartosfera.devices.sessions import (
    SessionRefused,
    device_holder,
    device_passkey_options,
    device_pin_change,
    device_session_end,
    device_session_open,
    device_session_require,
    session_ends_at,
)
from kartosfera.sca.models import ChallengeState, ConfirmWith, SmsChallenge
from kartosfera.sca.selectors import app_challenge_get
from kartosfera.sca.services import ChallengeError, challenge_passkey_result
from kartosfera.sca.stepup import (
    Channel,
    Completed,
    StepUpAnswer,
    stepup_cancel,
    stepup_complete,
    stepup_passkey_challenge,
    stepup_passkey_challenge_keep,
    stepup_passkey_challenge_take,
    stepup_request,
    stepup_resend,
    stepup_verify,
)
from kartosfera.stops.services import customer_stop_lift_check
from kartosfera.stops.stepup_operations import STOP_SET, stop_payload
from kartosfera.tokens.models import Token
from kartosfera.tokens.selectors import token_get_for_customer, token_list_for_card
from kartosfera.tokens.services import token_suspend
from kartosfera.tokens.stepup_operations import TOKEN_RESUME, token_resume_payload
from kartosfera.users.models import User
from kartosfera.users.passkeys import (
    PasskeyRefused,
    passkey_authentication_options,
    passkey_verify,
    relying_party,
)
from kartosfera.users.selectors import cardholder_find_by_identifier

# [ours] An activation guesses nothing within 3 tries per code; these slow down a
# script that tries many identifiers from one address, or one identifier from many.
ACTIVATIONS_PER_IP = "10/h"
ACTIVATIONS_PER_IDENTIFIER = "10/h"


class DeviceSignature(APIKeyHeader):
    """The four signature headers; the device is the one whose key verifies the signature.

    With ``session`` (every endpoint but opening and ending the session) the device must also have an open app
    session (kartosfera/devices/sessions.py): the signature is one factor, the session's PIN or passkey the other.
    """

    param_name = signatures.HEADER_DEVICE

    def __init__(self, *, session: bool = True) -> None:
        super().__init__()
        self.session = session

    def authenticate(self, request: HttpRequest, key: str | None) -> AppDevice:
        device = self._signed(request, key)
        return device_session_require(device) if self.session else device

    def _signed(self, request: HttpRequest, key: str | None) -> AppDevice:
        headers = request.headers
        return device_request_authenticate(
            device_id=key or "",
            timestamp=headers.get(signatures.HEADER_TIMESTAMP, ""),
            request_id=headers.get(signatures.HEADER_REQUEST_ID, ""),
            signature=headers.get(signatures.HEADER_SIGNATURE, ""),
            method=request.method or "",
            path=request.get_full_path(),
            body=request.body,
        )


def _on_device_auth_failure(request: HttpRequest, exc: Any) -> HttpResponse:
    assert isinstance(exc, DeviceAuthFailure)
    headers = {"WWW-Authenticate": 'KartosferaDeviceSignature realm="kartosfera"'} if exc.status == 401 else {}
    return error_response(status=exc.status, detail=exc.message, code=exc.code, headers=headers)


def _on_session_refused(request: HttpRequest, exc: Any) -> HttpResponse:
    assert isinstance(exc, SessionRefused)
    errors = [{"field": exc.field, "message": exc.message}] if exc.field else []
    return error_response(status=exc.status, detail=exc.message, code=exc.code, errors=errors)


class AppAPI(NinjaAPI):
    """The app's API: its own schema at openapi.json, the project's error format, JSON 405s."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["docs_url"] = None
        super().__init__(auth=DeviceSignature(), **kwargs)
        install_exception_handlers(self)
        self.add_exception_handler(DeviceAuthFailure, _on_device_auth_failure)
        self.add_exception_handler(SessionRefused, _on_session_refused)

    def _index(self, request: HttpRequest, **kwargs: Any) -> JsonResponse:
        return JsonResponse(
            {"title": self.title, "version": self.version, "openapi": reverse(f"{self.urls_namespace}:openapi-json")}
        )

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for pattern in urls:
            if not isinstance(pattern, URLPattern):
                continue
            if pattern.name == "api-root":
                pattern.callback = self._index
            else:
                pattern.callback = _json_method_not_allowed(pattern.callback)
        return urls


api = AppAPI(
    title="Kartosfera BS Pay app API",
    version="1",
    description=(
        "The API of the BS Pay mobile app. A device is activated once with the holder's identifier, the 8-digit "
        "code the portal shows and the device's Ed25519 public key (POST /activations, unsigned). Every other "
        "request is signed with the device's private key: send X-Device-Id (the device's id), X-Timestamp "
        "(Unix seconds, within 5 minutes of the server's clock), X-Request-Id (16-64 of [A-Za-z0-9_-], each "
        "used once per device) and X-Signature (base64 Ed25519 signature of the UTF-8 string "
        "'KARTOSFERA-APP-V1\\n' + METHOD + '\\n' + path with query + '\\n' + X-Timestamp + '\\n' + X-Request-Id "
        "+ '\\n' + lowercase hex SHA-256 of the body). A refused signature is 401, a blocked device 403. "
        "A signature is one factor: every endpoint but POST /activations and the /session ones also needs an open "
        "app session (else 401 session_required), opened with the app PIN set at activation or one of the "
        "holder's passkeys (POST /session), ended by DELETE /session, after 5 idle minutes or after 12 hours. "
        "Three wrong PINs or refused passkeys in a row block the device. See docs/phone-payments.md."
    ),
    urls_namespace="app_v1",
)


class ErrorItem(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    code: str
    errors: list[ErrorItem]


# 400: a body that is not JSON (kartosfera/api/errors.py, as in every API).
_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class ActivationIn(Schema):
    # Anna Nowak's PESEL (the story's holder) and the code the portal showed her; a fresh Ed25519 key.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "identifier": "85031410109",
                    "code": "12345678",
                    "public_key": "uCfueiGZnGIcA7lrVlhkJenxLb1UN8Lzfj9jPneFCYg=",
                    "device_name": "Pixel 8 Anny",
                    "pin": "270419",
                }
            ]
        }
    )

    identifier: str = Field(..., max_length=64, description="The holder's portal login, PESEL or bank-assigned ID.")
    code: str = Field(..., max_length=16, description="The 8-digit activation code shown once in the portal.")
    public_key: str = Field(..., max_length=64, description="The device's Ed25519 public key: 32 raw bytes, base64.")
    device_name: str = Field(..., max_length=200, description="A name the holder recognises, e.g. 'Pixel 8 Anny'.")
    pin: str = Field(
        ...,
        max_length=16,
        description=(
            "The app PIN the holder chooses: 6 digits, not one digit six times nor a run such as 123456 or 654321. "
            "It opens the app session (POST /session); the server keeps only its hash."
        ),
    )


class DeviceOut(Schema):
    id: uuid.UUID
    name: str
    state: str
    activated_at: dt.datetime
    last_seen_at: dt.datetime | None


class CardOut(Schema):
    id: int
    last4: str = Field(..., description="The last 4 digits of the card number (never more).")
    product: str
    brand: str
    state: str = Field(..., description="inactive, active, blocked, blocked_by_bank, cancelled or expired.")
    expiry: str = Field(..., description="The card's expiry as YYYY-MM.")
    currency: str = Field(..., description="The currency of the card's limits (ISO 4217).")
    limits: dict[str, int] = Field(
        ..., description="The daily limits by control name (e.g. cash, internet), in minor units of the currency."
    )
    mobile_payments: bool = Field(..., description="Whether the card may be used in phone wallets and BS Pay.")


# The examples of the path's ids (docs/api.md, "The schema and the server agree"): the holder's card, its
# token, a confirmation.
CARD_ID_EXAMPLE = 1001
TOKEN_ID_EXAMPLE = 5001
CONFIRMATION_ID_EXAMPLE = uuid.UUID("3f1c2a6e-9b4d-4c1e-8a7f-2d5e6b7c8d90")


CARD_ID: Any = Path(..., example=CARD_ID_EXAMPLE, description="The card's id, as GET /cards lists it.")
TOKEN_ID: Any = Path(
    ..., example=TOKEN_ID_EXAMPLE, description="The token's id, as GET /cards/{card_id}/tokens lists it."
)
CONFIRMATION_ID: Any = Path(
    ..., example=CONFIRMATION_ID_EXAMPLE, description="The confirmation's id, from a 202 answer."
)


def _device(request: HttpRequest) -> AppDevice:
    device = getattr(request, "auth", None)
    if not isinstance(device, AppDevice):  # pragma: no cover - every signed endpoint has the auth
        raise RuntimeError("the endpoint was reached without a verified device")
    return device


def _device_out(device: AppDevice) -> dict[str, Any]:
    return {
        "id": device.public_id,
        "name": device.name,
        "state": device.state,
        "activated_at": device.activated_at,
        "last_seen_at": device.last_seen_at,
    }


def _card_out(card: Card, *, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": card.pk,
        "last4": card.pan_last4,
        "product": card.product.name,
        "brand": card.product.brand,
        "state": card_state(card, now=now),
        "expiry": card.expiry.strftime("%Y-%m"),
        "currency": card.product.currency,
        "limits": card.controls.limits_minor(),
        "mobile_payments": card.mobile_payments_enabled,
    }


def _activation_identifier_key(group: str, request: HttpRequest) -> str:
    # The body is JSON: the identifier, normalised as the look-up does.
    import json

    try:
        identifier = str(json.loads(request.body or b"{}").get("identifier", ""))
    except (ValueError, AttributeError):
        identifier = ""
    return "id:" + "".join(identifier.split()).casefold()


@api.post(
    "/activations", auth=None, response={201: DeviceOut, 400: ErrorOut, 422: ErrorOut, 409: ErrorOut, 429: ErrorOut}
)
def activate(request: HttpRequest, payload: ActivationIn) -> Status:
    """Activate this device: the holder's identifier, the activation code, the public key and a name."""
    limited = is_ratelimited(
        request, group="devices.activation.ip", key="ip", rate=ACTIVATIONS_PER_IP, method="POST", increment=True
    )
    limited = (
        is_ratelimited(
            request,
            group="devices.activation.identifier",
            key=_activation_identifier_key,
            rate=ACTIVATIONS_PER_IDENTIFIER,
            method="POST",
            increment=True,
        )
        or limited
    )
    if limited:
        raise ApiError(_("Too many activation attempts. Try again in an hour."), code="rate_limited", status=429)
    user = cardholder_find_by_identifier(identifier=payload.identifier)
    device = device_activate(
        customer=user.customer if user is not None else None,
        code=payload.code,
        public_key=payload.public_key,
        device_name=payload.device_name,
        pin=payload.pin,
    )
    return Status(201, _device_out(device))


# --- The app session: the signature AND the PIN or a passkey ---------------------------------------------------

# Opening, the passkey options and ending: signed, but no session needed (they are how one starts and ends).
_NO_SESSION = DeviceSignature(session=False)


class SessionIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"pin": "270419"}]})

    pin: str | None = Field(None, max_length=16, description="The app PIN set at activation (6 digits).")
    passkey: str | None = Field(
        None,
        max_length=16384,
        description=(
            "The passkey's answer to the options of POST /session/passkey-options: the JSON of the WebAuthn "
            "assertion (PublicKeyCredential.toJSON()), as a string."
        ),
    )

    @model_validator(mode="after")
    def _one_factor(self) -> SessionIn:
        if (self.pin is None) == (self.passkey is None):
            raise ValueError(_("Send the PIN or a passkey: one of the two."))
        return self


class SessionOut(Schema):
    factor: str = Field(..., description="What opened the session: pin or passkey.")
    started_at: dt.datetime
    idle_expires_at: dt.datetime = Field(..., description="When it ends unless a request comes first (5 minutes).")
    expires_at: dt.datetime = Field(..., description="When it ends at the latest (12 hours after it started).")


class SessionEndOut(Schema):
    open: bool = Field(..., description="Always false: the session has ended (or none was open).")


class PasskeyOptionsOut(Schema):
    options: dict[str, Any] = Field(
        ...,
        description=(
            "WebAuthn PublicKeyCredentialRequestOptions as JSON (challenge and credential ids base64url), for the "
            "platform's passkey API; answer once: a session's options within 3 minutes, a confirmation's while "
            "the confirmation is pending (5 minutes)."
        ),
    )


def _rp(request: HttpRequest) -> Any:
    return relying_party(host=request.get_host(), secure=request.is_secure())


@api.post("/session", auth=_NO_SESSION, response={200: SessionOut, **_ERRORS})
def session_open(request: HttpRequest, payload: SessionIn) -> dict[str, Any]:
    """Open the app session with the app PIN or a passkey's answer; 3 failures in a row block the device (403)."""
    device = _device(request)
    device = device_session_open(
        device=device,
        holder=device_holder(device),
        rp=_rp(request) if payload.passkey is not None else None,
        pin=payload.pin,
        passkey=payload.passkey,
    )
    factor = "passkey" if payload.passkey is not None else "pin"
    return {"factor": factor, "started_at": device.session_started_at, **session_ends_at(device)}


@api.post("/session/passkey-options", auth=_NO_SESSION, response={200: PasskeyOptionsOut, **_ERRORS})
def session_passkey_options(request: HttpRequest) -> dict[str, Any]:
    """The WebAuthn request options for one of the holder's passkeys (user verification required); 409 without."""
    device = _device(request)
    return {"options": device_passkey_options(device=device, holder=device_holder(device), rp=_rp(request))}


@api.delete("/session", auth=_NO_SESSION, response={200: SessionEndOut, **_ERRORS})
def session_end(request: HttpRequest) -> dict[str, Any]:
    """End the app session (sign out in the app); the next request needs the PIN or a passkey again."""
    device_session_end(device=_device(request))
    return {"open": False}


class PinChangeIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"current_pin": "270419", "new_pin": "583016"}]})

    current_pin: str = Field(..., max_length=16, description="The app PIN now (6 digits).")
    new_pin: str = Field(
        ..., max_length=16, description="The new app PIN: 6 digits, not one digit six times nor a run like 123456."
    )


class PinChangeOut(Schema):
    changed: bool = Field(..., description="Always true: the new PIN opens the next session.")


@api.put("/session/pin", response={200: PinChangeOut, **_ERRORS})
def session_pin_change(request: HttpRequest, payload: PinChangeIn) -> dict[str, Any]:
    """Change the app PIN in an open session: the current PIN, then the new one. A wrong current PIN counts as a
    failed session opening (422 with the tries left; the third blocks the device, 403). The holder gets an SMS."""
    device_pin_change(device=_device(request), current_pin=payload.current_pin, new_pin=payload.new_pin)
    return {"changed": True}


@api.get("/device", response={200: DeviceOut, **_ERRORS})
def device_get(request: HttpRequest) -> dict[str, Any]:
    """The device that signed the request."""
    return _device_out(_device(request))


@api.get("/cards", response={200: list[CardOut], **_ERRORS})
def cards_list(request: HttpRequest) -> list[dict[str, Any]]:
    """The holder's cards and their state (the last 4 digits only)."""
    now = timezone.now()
    cards = card_list_for_customer(customer=_device(request).customer).select_related("product")
    return [_card_out(card, now=now) for card in cards]


@api.post("/cards/{card_id}/block", response={200: CardOut, **_ERRORS})
def card_block(request: HttpRequest, card_id: int = CARD_ID) -> dict[str, Any]:
    """Block one of the holder's cards temporarily (no code, as in the portal); somebody else's card: 404."""
    device = _device(request)
    card = card_get_for_customer(customer=device.customer, card_id=card_id)
    card = card_block_temporarily(actor=device_actor(device), card=card)
    return _card_out(card, now=timezone.now())


class BlikOut(Schema):
    enabled: bool = Field(..., description="Whether BLIK is on for the holder.")
    changed_at: dt.datetime | None = Field(None, description="When it was last switched; null if never.")


def _blik_out(customer: Any) -> dict[str, Any]:
    state = blik_state(customer)
    return {"enabled": state.enabled, "changed_at": state.service.changed_at if state.service else None}


@api.get("/blik", response={200: BlikOut, **_ERRORS})
def blik_get(request: HttpRequest) -> dict[str, Any]:
    """Whether the holder's BLIK is on."""
    return _blik_out(_device(request).customer)


@api.post("/blik/on", response={200: BlikOut, **_ERRORS})
def blik_on(request: HttpRequest) -> dict[str, Any]:
    """Switch the holder's BLIK on again: only here, by a request this device signed (docs/phone-payments.md)."""
    device = _device(request)
    blik_switch_on(actor=device_actor(device), customer=device.customer, channel=BlikChannel.APP, detail=device.name)
    return _blik_out(device.customer)


@api.post("/blik/off", response={200: BlikOut, **_ERRORS})
def blik_off(request: HttpRequest) -> dict[str, Any]:
    """Switch the holder's BLIK off at once (as in the portal)."""
    device = _device(request)
    blik_switch_off(actor=device_actor(device), customer=device.customer, channel=BlikChannel.APP, detail=device.name)
    return _blik_out(device.customer)


# --- Operations confirmed with an SMS code: the same rule and mechanism as the portal --------------
#
# An endpoint asks for the operation through kartosfera.sca.stepup.stepup_request,
# whose registration says whether this request needs a code (raising a limit
# does, lowering it does not). The answer is 200 "completed" (it ran at once) or
# 202 "confirmation_needed" with the confirmation to send the SMS code to
# (POST /confirmations/{id}); the confirmation belongs to this device alone.


class ConfirmationOut(Schema):
    id: uuid.UUID
    operation: str = Field(..., description="What is confirmed, e.g. cards.card.unblock.")
    description: str = Field(..., description="The operation in the words of the SMS, in the holder's language.")
    phone: str = Field(..., description="Where the code went, masked.")
    state: str = Field(..., description="pending, confirmed, failed, cancelled or completed.")
    attempts_left: int
    expires_at: dt.datetime
    confirm_with: str = Field(
        ...,
        description=(
            "sms: send the code from the SMS (POST /confirmations/{id}); passkey: no SMS was sent, confirm with the "
            "holder's passkey (POST /confirmations/{id}/passkey-options, then POST /confirmations/{id}/passkey)."
        ),
    )


class OperationOut(Schema):
    status: str = Field(..., description="completed (it ran) or confirmation_needed (send the SMS code).")
    message: str | None = Field(None, description="What happened, in the holder's language (when completed).")
    confirmation: ConfirmationOut | None = None


class CodeIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "123456"}]})

    code: str = Field(..., max_length=16, description="The 6-digit code from the SMS.")


class LimitsIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"limits": {"internet": 100000}}]})

    limits: dict[str, Annotated[int, Strict()]] = Field(
        ..., description="New daily limits by control name, in minor units; a limit not named stays as it is."
    )


class MobilePaymentsIn(Schema):
    # Strict: 0, "no" or "false" is not a yes or no the schema allows (a JSON boolean).
    enabled: Annotated[bool, Strict()]


class TokenOut(Schema):
    id: int
    wallet: str = Field(..., description="google_pay, apple_pay, garmin_pay or bs_pay.")
    token_last4: str = Field(..., description="The last 4 digits of the token number (not of the card).")
    device_name: str
    status: str = Field(..., description="requested, active, suspended or deleted.")
    suspended_by: str = Field(..., description="Who suspended it (holder, bank, card_block, ...); empty if not.")
    since: dt.datetime


_OPERATION = {200: OperationOut, 202: OperationOut, **_ERRORS}


def _holder(device: AppDevice) -> User:
    user = device_holder(device)
    if user is None or not user.is_cardholder:
        # A device is activated from the portal, so its holder has portal access; without it, nothing to confirm.
        raise ApiError(_("There is no portal access for this customer."), code="no_portal_access", status=403)
    return user


def _confirmation_state(challenge: SmsChallenge) -> str:
    return "completed" if challenge.completed_at is not None else challenge.state


def _confirmation_out(challenge: SmsChallenge) -> dict[str, Any]:
    return {
        "id": challenge.public_id,
        "operation": challenge.operation,
        "description": challenge.description,
        "phone": mask_phone(challenge.phone),
        "state": _confirmation_state(challenge),
        "attempts_left": challenge.attempts_left,
        "expires_at": challenge.expires_at,
        "confirm_with": challenge.confirm_with,
    }


def _answer(answer: StepUpAnswer) -> Status:
    if isinstance(answer, Completed):
        return Status(200, {"status": "completed", "message": answer.result.message, "confirmation": None})
    return Status(202, {"status": "confirmation_needed", "confirmation": _confirmation_out(answer.challenge)})


def _ask(request: HttpRequest, *, operation: str, payload: dict[str, Any], card: Card | None) -> Status:
    device = _device(request)
    return _answer(
        stepup_request(
            actor=device_actor(device),
            user=_holder(device),
            operation=operation,
            payload=payload,
            card=card,
            channel=Channel.APP,
            app_device_id=device.public_id,
        )
    )


def _card(request: HttpRequest, card_id: int) -> Card:
    return card_get_for_customer(customer=_device(request).customer, card_id=card_id)


@api.post("/cards/{card_id}/activate", response=_OPERATION)
def card_activate(request: HttpRequest, card_id: int = CARD_ID) -> Status:
    """Activate a new card: always confirmed with an SMS code (202)."""
    return _ask(request, operation=CARD_ACTIVATE, payload={}, card=_card(request, card_id))


@api.post("/cards/{card_id}/unblock", response=_OPERATION)
def card_unblock(request: HttpRequest, card_id: int = CARD_ID) -> Status:
    """Unblock a temporarily blocked card: always confirmed with an SMS code (202)."""
    return _ask(request, operation=CARD_UNBLOCK, payload={}, card=_card(request, card_id))


@api.post("/cards/{card_id}/limits", response=_OPERATION)
def card_limits(request: HttpRequest, payload: LimitsIn, card_id: int = CARD_ID) -> Status:
    """Change the daily limits: lowering runs at once (200); raising any of them needs the SMS code (202)."""
    card = _card(request, card_id)
    return _ask(request, operation=CARD_LIMITS_CHANGE, payload=limits_change_payload(card, payload.limits), card=card)


@api.post("/cards/{card_id}/mobile-payments", response=_OPERATION)
def card_mobile_payments(request: HttpRequest, payload: MobilePaymentsIn, card_id: int = CARD_ID) -> Status:
    """Switch mobile payments on (SMS code, 202) or off (at once, 200)."""
    return _ask(
        request,
        operation=CARD_MOBILE_PAYMENTS_SET,
        payload={"enabled": payload.enabled},
        card=_card(request, card_id),
    )


class StopIn(Schema):
    stopped: Annotated[bool, Strict()] = Field(
        ..., description="true: stop every card, token and BLIK payment at once; false: lift."
    )


class StopOut(Schema):
    stopped: bool = Field(..., description="Whether all the holder's payments are stopped.")
    since: dt.datetime | None = Field(None, description="Since when; null when not stopped.")


@api.get("/stop", response={200: StopOut, **_ERRORS})
def stop_get(request: HttpRequest) -> dict[str, Any]:
    """Whether all the holder's payments are stopped ("stop everything", docs/stop-everything.md)."""
    customer = _device(request).customer
    return {"stopped": customer.payments_stopped, "since": customer.payments_stopped_at}


@api.post("/stop", response=_OPERATION)
def stop_set(request: HttpRequest, payload: StopIn) -> Status:
    """Stop all payments at once (200), or lift the stop (SMS code, 202; BLIK comes back if the stop switched it
    off, as BLIK is switched on only here)."""
    device = _device(request)
    if not payload.stopped:
        customer_stop_lift_check(customer=device.customer)
    return _ask(
        request, operation=STOP_SET, payload=stop_payload(stopped=payload.stopped, channel=StopChannel.APP), card=None
    )


def _token_out(token: Token) -> dict[str, Any]:
    return {
        "id": token.pk,
        "wallet": token.wallet,
        "token_last4": token.token_last4,
        "device_name": token.device_name,
        "status": token.status,
        "suspended_by": token.suspended_by,
        "since": token.status_changed_at,
    }


@api.get("/cards/{card_id}/tokens", response={200: list[TokenOut], **_ERRORS})
def card_tokens(request: HttpRequest, card_id: int = CARD_ID) -> list[dict[str, Any]]:
    """The card's tokens in phone wallets and BS Pay (the token's last 4 digits only)."""
    return [_token_out(token) for token in token_list_for_card(card=_card(request, card_id))]


def _token(request: HttpRequest, card_id: int, token_id: int) -> Token:
    return token_get_for_customer(customer=_device(request).customer, token_id=token_id, card_id=card_id)


@api.post("/cards/{card_id}/tokens/{token_id}/suspend", response={200: TokenOut, **_ERRORS})
def token_suspend_endpoint(request: HttpRequest, card_id: int = CARD_ID, token_id: int = TOKEN_ID) -> dict[str, Any]:
    """Suspend a token at once (no code, as in the portal)."""
    token = token_suspend(actor=device_actor(_device(request)), token=_token(request, card_id, token_id))
    return _token_out(token)


@api.post("/cards/{card_id}/tokens/{token_id}/resume", response=_OPERATION)
def token_resume_endpoint(request: HttpRequest, card_id: int = CARD_ID, token_id: int = TOKEN_ID) -> Status:
    """Resume a token the holder suspended: confirmed with an SMS code naming the token and the card (202)."""
    token = _token(request, card_id, token_id)
    return _ask(request, operation=TOKEN_RESUME, payload=token_resume_payload(token), card=token.card)


def _confirmation(request: HttpRequest, confirmation_id: uuid.UUID) -> SmsChallenge:
    device = _device(request)
    return app_challenge_get(
        customer_id=device.customer_id, device_public_id=device.public_id, public_id=confirmation_id
    )


@api.get("/confirmations/{confirmation_id}", response={200: ConfirmationOut, **_ERRORS})
def confirmation_get(request: HttpRequest, confirmation_id: uuid.UUID = CONFIRMATION_ID) -> dict[str, Any]:
    """A confirmation this device asked for; another device's or the portal's is a 404."""
    return _confirmation_out(_confirmation(request, confirmation_id))


def _ended(challenge: SmsChallenge) -> ApiError | None:
    if challenge.completed_at is not None:
        return ApiError(_("This operation has already been confirmed."), code="confirmation_completed", status=409)
    if challenge.state == ChallengeState.FAILED:
        return ApiError(_("The code was wrong three times. Start again."), code="confirmation_failed", status=409)
    if challenge.state != ChallengeState.PENDING:
        return ApiError(_("This confirmation has ended. Start again."), code="confirmation_ended", status=409)
    return None


@api.post("/confirmations/{confirmation_id}", response={200: OperationOut, **_ERRORS})
def confirmation_confirm(
    request: HttpRequest, payload: CodeIn, confirmation_id: uuid.UUID = CONFIRMATION_ID
) -> dict[str, Any]:
    """Send the SMS code: the operation runs once (200), or 422 with the tries left, or 409 when it has ended."""
    device = _device(request)
    challenge = _confirmation(request, confirmation_id)
    if (ended := _ended(challenge)) is not None:
        raise ended
    if challenge.confirm_with == ConfirmWith.PASSKEY:
        raise ApiError(
            _("This confirmation takes your passkey, not a code."), code="passkey_required", status=409, field="code"
        )
    actor = device_actor(device)
    outcome = stepup_verify(actor=actor, challenge=challenge, linked=None, codes={"code": payload.code})
    if not outcome.confirmed:
        message = outcome.errors.get("code", _("This confirmation has ended. Start again."))
        if outcome.ended:
            raise ApiError(message, code=outcome.ended_code or "confirmation_failed", status=409)
        raise ApiError(message, code="code_invalid", status=422, field="code")
    result = stepup_complete(actor=actor, user=_holder(device), challenge=challenge)
    return {"status": "completed", "message": result.message, "confirmation": None}


class PasskeyAnswerIn(Schema):
    passkey: str = Field(
        ...,
        min_length=2,
        max_length=16384,
        description=(
            "The passkey's answer to the options of POST /confirmations/{id}/passkey-options: the JSON of the "
            "WebAuthn assertion (PublicKeyCredential.toJSON()), as a string."
        ),
    )


def _passkey_confirmation(request: HttpRequest, confirmation_id: uuid.UUID) -> SmsChallenge:
    challenge = _confirmation(request, confirmation_id)
    if (ended := _ended(challenge)) is not None:
        raise ended
    if challenge.confirm_with != ConfirmWith.PASSKEY:
        raise ApiError(_("This confirmation takes the code from the SMS."), code="code_required", status=409)
    return challenge


@api.post("/confirmations/{confirmation_id}/passkey-options", response={200: PasskeyOptionsOut, **_ERRORS})
def confirmation_passkey_options(request: HttpRequest, confirmation_id: uuid.UUID = CONFIRMATION_ID) -> dict[str, Any]:
    """The WebAuthn options for confirming with the passkey: the challenge carries the operation (used once)."""
    challenge = _passkey_confirmation(request, confirmation_id)
    options, value = passkey_authentication_options(
        user=_holder(_device(request)), rp=_rp(request), challenge=stepup_passkey_challenge(challenge)
    )
    stepup_passkey_challenge_keep(challenge=challenge, value=value)
    return {"options": options}


@api.post("/confirmations/{confirmation_id}/passkey", response={200: OperationOut, **_ERRORS})
def confirmation_passkey(
    request: HttpRequest, payload: PasskeyAnswerIn, confirmation_id: uuid.UUID = CONFIRMATION_ID
) -> dict[str, Any]:
    """Confirm with the passkey's answer: the operation runs once (200), or 422 with the tries left, or 409."""
    device = _device(request)
    holder = _holder(device)
    challenge = _passkey_confirmation(request, confirmation_id)
    bound = stepup_passkey_challenge_take(challenge=challenge)
    if bound is None:
        # No options waiting (never asked, already answered): nothing is checked and no try is used.
        raise ApiError(
            _("The passkey's options have expired or were already used. Ask for new ones."),
            code="passkey_options_expired",
            status=409,
            field="passkey",
        )
    try:
        passkey_verify(user=holder, rp=_rp(request), challenge=bound, response=payload.passkey)
        proven = True
    except PasskeyRefused:
        proven = False
    actor = device_actor(device)
    try:
        challenge_passkey_result(actor=actor, challenge=challenge, proven=proven)
    except ChallengeError as exc:
        if exc.code == "passkey_refused":
            raise ApiError(exc.message, code="passkey_refused", status=422, field="passkey") from exc
        raise ApiError(exc.message, code="confirmation_failed", status=409) from exc
    result = stepup_complete(actor=actor, user=holder, challenge=challenge)
    return {"status": "completed", "message": result.message, "confirmation": None}


@api.post("/confirmations/{confirmation_id}/resend", response={200: ConfirmationOut, **_ERRORS})
def confirmation_resend(request: HttpRequest, confirmation_id: uuid.UUID = CONFIRMATION_ID) -> dict[str, Any]:
    """Send a new code (at most 3 per confirmation; the tries are not reset)."""
    challenge = _confirmation(request, confirmation_id)
    if (ended := _ended(challenge)) is not None:
        raise ended
    try:
        stepup_resend(actor=device_actor(_device(request)), challenge=challenge, linked=None)
    except ChallengeError as exc:
        raise ApiError(exc.message, code=exc.code, status=409) from exc
    challenge.refresh_from_db()
    return _confirmation_out(challenge)


@api.post("/confirmations/{confirmation_id}/cancel", response={200: ConfirmationOut, **_ERRORS})
def confirmation_cancel(request: HttpRequest, confirmation_id: uuid.UUID = CONFIRMATION_ID) -> dict[str, Any]:
    """Abandon the confirmation: its code stops working and nothing runs."""
    challenge = _confirmation(request, confirmation_id)
    if challenge.state == ChallengeState.PENDING:
        stepup_cancel(actor=device_actor(_device(request)), challenge=challenge)
        challenge.refresh_from_db()
    return _confirmation_out(challenge)
