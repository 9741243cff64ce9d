"""What the endpoints of the provisioning API share: the declared error answers, the Idempotency-Key header."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Header, Schema

from kartosfera.api import schemas as s
from kartosfera.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from kartosfera.api.idempotency import KEY_PATTERN

ERRORS: dict[int, type[Schema]] = {
    400: s.ErrorOut,
    401: s.ErrorOut,
    403: s.ErrorOut,
    404: s.ErrorOut,
    409: s.ErrorOut,
    422: s.ErrorOut,
}
_IDEMPOTENCY_DESCRIPTION = (
    "A unique value per create (e.g. a UUID), 1-255 visible ASCII characters; a retry with the same key "
    "and body gets the first answer. Missing or malformed (and the request otherwise valid): 400."
)


def idempotency_key() -> Any:
    """The Idempotency-Key header parameter every create declares."""
    return Header(..., alias=IDEMPOTENCY_HEADER, description=_IDEMPOTENCY_DESCRIPTION, pattern=KEY_PATTERN)


def as_json(request: HttpRequest, schema: type[Schema], obj: Any) -> dict[str, Any]:
    """``obj`` as ``schema``'s JSON, resolved with the request as ninja's own answers are."""
    # The request goes along: a customer's reference is the acting bank's number (schemas.CustomerOut).
    return schema.model_validate(obj, context={"request": request}).model_dump()
