"""The provisioning API's bank logo upload: the group's systems set each bank's logo.

The body is the image itself (``Content-Type: image/png`` or ``image/svg+xml``), not JSON: a logo
is binary, and base64 inside JSON would only make it a third bigger. banks/logos.py checks it.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Path, Router, Schema

from kartosfera.api import schemas as s
from kartosfera.api.auth import request_actor, request_api_key
from kartosfera.api.errors import ApiError
from kartosfera.banks.logos import MAX_BYTES, MAX_PNG_SIDE, LogoNotScanned, bank_logo_set
from kartosfera.banks.models import Bank
from kartosfera.banks.selectors import bank_get_by_code

router = Router(tags=["banks"])

_ERRORS: dict[int, type[Schema]] = {
    401: s.ErrorOut,
    403: s.ErrorOut,
    404: s.ErrorOut,
    413: s.ErrorOut,
    422: s.ErrorOut,
    503: s.ErrorOut,
}


class BankLogoOut(Schema):
    bank: str
    content_type: str
    digest: str
    url: str


@router.put(
    "/{code}/logo",
    response={200: BankLogoOut, **_ERRORS},
    summary="Set a bank's logo",
    description=(
        "The request body is the image itself, sent with its `Content-Type`: `image/png` (a real PNG, at most "
        f"{MAX_PNG_SIDE}x{MAX_PNG_SIDE} pixels) or `image/svg+xml` (drawing only: no script, event handler, "
        "foreignObject, external link or url(), @import, DOCTYPE or entity; UTF-8), at most "
        f"{MAX_BYTES // 1024} KB. Anything else is a 422 with the reason. The portal serves the logo from its own "
        "origin at `url` (the digest is the SHA-256 of the image: a new logo is a new address). Before it is stored, "
        "an antivirus scanner (ClamAV) scans it: a logo it flags is a 422 with the code `logo_malware_found`; "
        "when the scanner cannot scan it, the logo is not stored and the answer is a 503 with the code "
        "`antivirus_unavailable` (send it again later). The same image again changes nothing. For the group's keys "
        "only: a bank's own key gets 404."
    ),
)
def set_bank_logo(request: HttpRequest, code: str = Path(..., example="BANK", max_length=16)) -> dict[str, str]:
    # A bank's key does not manage the group's banks, not even its own presentation: as if there were none.
    if request_api_key(request).bank_id is not None:
        raise Http404
    bank = bank_get_by_code(code=code)
    if bank is None:
        raise Http404
    try:
        bank = bank_logo_set(
            actor=request_actor(request), bank=bank, data=request.body, content_type=request.content_type or ""
        )
    except LogoNotScanned as exc:
        # Not the logo's fault: the caller may send the same logo again once the scanner is back.
        raise ApiError(exc.message, code=exc.code, status=503, field="logo") from None
    return _logo_out(bank)


def _logo_out(bank: Bank) -> dict[str, str]:
    return {"bank": bank.code, "content_type": bank.logo_content_type, "digest": bank.logo_digest, "url": bank.logo_url}
