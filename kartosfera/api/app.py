"""The BS Pay app's API (/api/app/v1/): activation, then requests signed with the device's Ed25519 key.

Thin endpoints: the signature is checked by kartosfera.devices.services
(device_request_authenticate), cards are reached through the device's holder,
and each write calls the same service as the portal. See docs/phone-payments.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited
from ninja import Field, NinjaAPI, Schema, Status
from ninja.security import APIKeyHeader

from kartosfera.api.base import _json_method_not_allowed
from kartosfera.api.errors import ApiError, error_response, install_exception_handlers
from kartosfera.blik.models import BlikChannel
from kartosfera.blik.selectors import blik_state
from kartosfera.blik.services import blik_switch_off, blik_switch_on
from kartosfera.cards.models import Card
from kartosfera.cards.operations import card_state
from kartosfera.cards.operations_services import card_block_temporarily
from kartosfera.cards.selectors import card_get_for_customer, card_list_for_customer
from kartosfera.devices import signatures
from kartosfera.devices.models import AppDevice
from kartosfera.devices.services import DeviceAuthFailure, device_activate, device_actor, device_request_authenticate
from kartosfera.users.selectors import cardholder_find_by_identifier

# [ours] An activation guesses nothing within 3 tries per code; these slow down a
# script that tries many identifiers from one address, or one identifier from many.
ACTIVATIONS_PER_IP = "10/h"
ACTIVATIONS_PER_IDENTIFIER = "10/h"


class DeviceSignature(APIKeyHeader):
    """The four signature headers; the device is the one whose key verifies the signature."""

    param_name = signatures.HEADER_DEVICE

    def authenticate(self, request: HttpRequest, key: str | None) -> AppDevice:
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


class AppAPI(NinjaAPI):
    """The app's API: its own schema at openapi.json, the project's error format, JSON 405s."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["docs_url"] = None
        super().__init__(auth=DeviceSignature(), **kwargs)
        install_exception_handlers(self)
        self.add_exception_handler(DeviceAuthFailure, _on_device_auth_failure)

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
        "See docs/phone-payments.md."
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


_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class ActivationIn(Schema):
    identifier: str = Field(..., max_length=64, description="The holder's portal login, PESEL or bank-assigned ID.")
    code: str = Field(..., max_length=16, description="The 8-digit activation code shown once in the portal.")
    public_key: str = Field(..., max_length=64, description="The device's Ed25519 public key: 32 raw bytes, base64.")
    device_name: str = Field(..., max_length=200, description="A name the holder recognises, e.g. 'Pixel 8 Anny'.")


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
    }


def _activation_identifier_key(group: str, request: HttpRequest) -> str:
    # The body is JSON: the identifier, normalised as the look-up does.
    import json

    try:
        identifier = str(json.loads(request.body or b"{}").get("identifier", ""))
    except (ValueError, AttributeError):
        identifier = ""
    return "id:" + "".join(identifier.split()).casefold()


@api.post("/activations", auth=None, response={201: DeviceOut, 422: ErrorOut, 409: ErrorOut, 429: ErrorOut})
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
    )
    return Status(201, _device_out(device))


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
def card_block(request: HttpRequest, card_id: int) -> dict[str, Any]:
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
