"""Which bank a provisioning request works in: the key's own bank, or the one a group key names.

A bank's key (``ApiKey.bank``) works only in its bank; a key of the group's systems (no bank) names
the bank of each request in the ``X-Bank-Code`` header. Bank secrecy (Prawo bankowe art. 104) makes
this a boundary: every bank-scoped endpoint resolves the bank here first and looks objects up only
within it, so another bank's object is a 404, never a hint that it exists (docs/api.md, "Whose key").
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Header

from kartosfera.api.auth import request_api_key
from kartosfera.api.errors import ApiError
from kartosfera.banks.models import Bank
from kartosfera.banks.selectors import bank_get_by_code
from kartosfera.banks.validators import BANK_CODE_PATTERN

BANK_HEADER = "X-Bank-Code"
# The shape banks.Bank's CHECK constraint allows (BANK_CODE_PATTERN): anything else names no bank.
_CODE_RE = re.compile(BANK_CODE_PATTERN)
_REQUEST_ATTRIBUTE = "_kartosfera_acting_bank"
_BANK_HEADER_DESCRIPTION = (
    "The code of the bank this request works in (e.g. `BANK`). Required with a key of the group's systems; "
    "a bank's own key may leave it out (it always works in its bank) and gets 404 for another bank's code."
)


def bank_header() -> Any:
    """The ``X-Bank-Code`` header parameter every bank-scoped endpoint declares (so the schema documents it)."""
    return Header(None, alias=BANK_HEADER, description=_BANK_HEADER_DESCRIPTION)


def _unknown_bank() -> ApiError:
    # One answer for an unknown code and for another bank's code sent with a bank's key.
    return ApiError(
        _("No bank with this code, or not a bank this API key works in."),
        code="bank_not_found",
        status=404,
        field=BANK_HEADER,
    )


def acting_bank(request: HttpRequest, code: str | None) -> Bank:
    """The bank of this request (``code``: the X-Bank-Code header), remembered on the request for the answer."""
    api_key = request_api_key(request)
    code = (code or "").strip().upper()
    if api_key.bank is not None:
        if code and code != api_key.bank.code:
            raise _unknown_bank()
        bank = api_key.bank
    else:
        if not code:
            raise ApiError(
                _("A key of the group's systems must name the bank it works in: send the header X-Bank-Code."),
                code="bank_code_missing",
                status=422,
                field=BANK_HEADER,
            )
        found = bank_get_by_code(code=code) if _CODE_RE.match(code) else None
        if found is None:
            raise _unknown_bank()
        bank = found
    setattr(request, _REQUEST_ATTRIBUTE, bank)
    return bank


def request_bank(request: HttpRequest) -> Bank:
    """The bank ``acting_bank`` resolved for this request (for answers that show the bank's own numbers)."""
    bank = getattr(request, _REQUEST_ATTRIBUTE, None)
    if not isinstance(bank, Bank):  # pragma: no cover - every bank-scoped endpoint resolves the bank first
        raise RuntimeError("the answer needs the acting bank, but the endpoint did not resolve it")
    return bank


def require_group_key(request: HttpRequest) -> None:
    """Refuse a bank's key where only the group's systems may act (the banks themselves): 403."""
    if request_api_key(request).bank_id is not None:
        raise ApiError(
            _("Only a key of the group's systems may do this; a bank's key may not."),
            code="group_key_required",
            status=403,
        )
