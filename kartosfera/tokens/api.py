"""The token service provider's endpoints (mounted at /api/token-service/v1/, kartosfera/api/token_service.py).

Thin: parse with a schema, call one service, answer with a schema. The card number finds the card
and is never stored, logged or answered.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest
from ninja import Path, Router, Schema
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from kartosfera.api import schemas as api_schemas
from kartosfera.api.auth import request_actor
from kartosfera.api.schemas import InputSchema, _storable
from kartosfera.processing.schemas import CardIn
from kartosfera.tokens.models import Token
from kartosfera.tokens.provisioning import (
    ProvisioningAnswer,
    ProvisioningRequest,
    token_provisioning_decide,
    token_provisioning_verify,
)
from kartosfera.tokens.services import ProviderEvent, token_provider_event
from kartosfera.tokens.states import Wallet

router = Router(tags=["tokens"])

_ERRORS: dict[int, type[Schema]] = {
    400: api_schemas.ErrorOut,
    401: api_schemas.ErrorOut,
    403: api_schemas.ErrorOut,
    404: api_schemas.ErrorOut,
    409: api_schemas.ErrorOut,
    422: api_schemas.ErrorOut,
}
TokenReference = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
    Field(description="The provider's token reference: 1-64 letters, digits, '.', '_', ':' or '-'."),
]


class DeviceIn(InputSchema):
    name: Annotated[str, StringConstraints(max_length=100), AfterValidator(_storable)] = ""
    type: Literal["phone", "watch", "tablet", "other"] = "phone"


class ProvisioningIn(InputSchema):
    # The documented story's card (docs/api.md: CARD-000555), a new token of it in Google Pay.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "card": {"pan": "4000000001234568", "expiry": "2029-08"},
                    "token_reference": "DNITHE000000002",
                    "token_last4": "4321",
                    "wallet": "google_pay",
                    "device": {"name": "Pixel 8", "type": "phone"},
                    "recommendation": "require_verification",
                }
            ]
        }
    )

    card: CardIn
    token_reference: TokenReference
    token_last4: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] = Field(
        description="The last 4 digits of the token number."
    )
    wallet: Literal["google_pay", "apple_pay", "garmin_pay", "bs_pay"]
    device: DeviceIn
    recommendation: Literal["approve", "require_verification"] = Field(
        "require_verification",
        description="The provider's risk assessment; the bank approves at once only when it says approve.",
    )
    app_device_id: uuid.UUID | None = Field(
        None,
        description="For the bs_pay wallet, required: the BS Pay device's id (its X-Device-Id) the token is for; "
        "an unknown, another holder's or a blocked device is declined (bs_pay_device_unusable).",
    )


class ProvisioningOut(Schema):
    decision: Literal["approve", "decline", "require_verification"]
    reason: str | None = Field(description="Why it is declined (card_expired, mobile_payments_off, …), else null.")
    token_reference: str
    phone_masked: str | None = Field(description="Where the SMS code went (+48 *** *** 789), when one was sent.")
    code_expires_at: dt.datetime | None


class VerificationIn(InputSchema):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] = Field(description="The code the holder typed.")


class VerificationOut(Schema):
    result: Literal["verified", "code_invalid", "failed", "not_required"]
    attempts_left: int


class EventIn(InputSchema):
    event: Literal["activated", "suspended", "deleted"]


class TokenOut(Schema):
    token_reference: str
    status: Literal["requested", "active", "suspended", "deleted"]
    suspended_by: str | None


def _path_token_reference() -> Any:
    # The example names the story card's token that waits for its SMS code (docs/phone-payments.md).
    return Path(..., example="DNITHE000000001")


def _answer(payload: ProvisioningIn, answer: ProvisioningAnswer) -> dict[str, object]:
    return {
        "decision": answer.decision,
        "reason": answer.reason or None,
        "token_reference": payload.token_reference,
        "phone_masked": answer.phone_masked or None,
        "code_expires_at": answer.code_expires_at,
    }


def _token(token_reference: str) -> Token:
    # The provider reaches only tokens by the references it issued; an unknown one is a 404.
    if len(token_reference) > 64 or "\x00" in token_reference:
        raise Http404
    token = Token.objects.filter(token_reference=token_reference).first()
    if token is None:
        raise Http404
    return token


@router.post(
    "/provisioning-requests",
    response={200: ProvisioningOut, **_ERRORS},
    summary="Decide whether to provision a token",
    description=(
        "Approve, decline, or require the holder's SMS code before the wallet gets a token of the card. "
        "A retry with the same token_reference gets the same decision (and sends no second SMS)."
    ),
)
def create_provisioning_request(request: HttpRequest, payload: ProvisioningIn) -> dict[str, object]:
    answer = token_provisioning_decide(
        actor=request_actor(request),
        request=ProvisioningRequest(
            pan=payload.card.pan,
            expiry=payload.card.expiry_date(),
            token_reference=payload.token_reference,
            token_last4=payload.token_last4,
            wallet=Wallet(payload.wallet),
            device_name=payload.device.name,
            device_type=payload.device.type,
            recommendation=payload.recommendation,
            app_device_id=payload.app_device_id,
        ),
    )
    return _answer(payload, answer)


@router.post(
    "/provisioning-requests/{token_reference}/verification",
    response={200: VerificationOut, **_ERRORS},
    summary="Check the holder's SMS code",
    description=(
        "The code the wallet asked the holder for: 3 tries, valid 10 minutes. A wrong code answers code_invalid "
        "with the tries left; the third wrong or an expired code ends the request (failed). Retrying after "
        "success answers verified again."
    ),
)
def verify_provisioning_code(
    request: HttpRequest, payload: VerificationIn, token_reference: str = _path_token_reference()
) -> dict[str, object]:
    answer = token_provisioning_verify(actor=request_actor(request), token=_token(token_reference), code=payload.code)
    return {"result": answer.result, "attempts_left": answer.attempts_left}


@router.post(
    "/tokens/{token_reference}/events",
    response={200: TokenOut, **_ERRORS},
    summary="Report a token's lifecycle event",
    description=(
        "activated, suspended or deleted by the wallet. Idempotent: the same event again changes nothing. "
        "Activating a token whose SMS code was not given is 409."
    ),
)
def create_token_event(
    request: HttpRequest, payload: EventIn, token_reference: str = _path_token_reference()
) -> dict[str, object]:
    if payload.event not in ProviderEvent.ALL:  # pragma: no cover - the schema allows only these
        raise Http404
    token = token_provider_event(actor=request_actor(request), token=_token(token_reference), event=payload.event)
    return {
        "token_reference": token.token_reference,
        "status": token.status,
        "suspended_by": token.suspended_by or None,
    }
