"""The ACS's API (directory server → Kartosfera): POST /api/acs/v2/areq (docs/3d-secure.md, "The ACS")."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router, Schema

from kartosfera.acs.schemas import AReqIn, AResOut
from kartosfera.acs.services import AReq, areq_answer
from kartosfera.api import schemas as api_schemas
from kartosfera.api.auth import request_actor

router = Router(tags=["3-D Secure"])

_ERRORS: dict[int, type[Schema]] = {
    400: api_schemas.ErrorOut,
    401: api_schemas.ErrorOut,
    403: api_schemas.ErrorOut,
    409: api_schemas.ErrorOut,
    422: api_schemas.ErrorOut,
}


@router.post("/areq", response={200: AResOut, **_ERRORS}, summary="Authenticate a payment (AReq → ARes)")
def areq(request: HttpRequest, payload: AReqIn) -> HttpResponse:
    """Decide an AReq: Y (frictionless, with the authentication value and ECI), C (challenge at acsURL), N or R
    (with transStatusReason). A retry with the same threeDSServerTransID and body gets the same ARes; another
    body under that id: 409."""
    fields = payload.model_dump(exclude_none=True)
    answer = areq_answer(
        actor=request_actor(request),
        areq=AReq(fields=fields, pan=payload.acctNumber),
        # The challenge page the CReq is posted to (acs/views.py).
        challenge_url=request.build_absolute_uri(reverse("acs:challenge")),
    )
    # The stored text as it is: a retry is byte-for-byte the first answer.
    return HttpResponse(answer, content_type="application/json")
