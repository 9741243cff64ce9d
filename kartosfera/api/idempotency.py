"""Idempotent creates: a retried POST with the same ``Idempotency-Key`` gets the first answer again.

The record is inserted first, inside the transaction of the create. Two
concurrent requests with the same key therefore meet at the unique index: the
second waits for the first to commit, fails with an IntegrityError and replays the
stored answer, instead of racing it to create a second object (or a 409). When
the create fails (a rule refuses it) the record rolls back with it, so only
successful creates are remembered and a corrected retry may reuse the key.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja.responses import NinjaJSONEncoder

from kartosfera.api.auth import request_api_key
from kartosfera.api.errors import ApiError, register_header_errors
from kartosfera.api.models import IdempotencyRecord
from kartosfera.api.selectors import idempotency_record_get
from kartosfera.banks.models import Bank

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# 1-255 visible ASCII characters. Declared on the header parameter (kartosfera/api/provisioning.py),
# so the OpenAPI schema states it and the schema validation enforces it: one rule, one place.
KEY_PATTERN = r"^[!-~]{1,255}$"
_FINGERPRINT_SALT = "kartosfera.api.idempotency.fingerprint"
CONTENT_TYPE = "application/json; charset=utf-8"

# A request whose only problem is its key gets the key's own 400, not the schema's 422.
register_header_errors(
    HEADER,
    missing=(
        "idempotency_key_missing",
        gettext_lazy("This request creates an object and needs an Idempotency-Key header (e.g. a UUID)."),
    ),
    invalid=("idempotency_key_invalid", gettext_lazy("The Idempotency-Key must be 1 to 255 visible ASCII characters.")),
)


class _LostRace(Exception):
    """Another request with the same key committed its record first."""


def request_fingerprint(request: HttpRequest, *, bank: Bank | None = None) -> str:
    """A keyed HMAC of the method, path and body (canonical JSON, so key order does not matter).

    Keyed, never a plain hash: a card issue body holds the full card number, and a
    plain hash of it could be reversed by trying every number of a BIN range.
    A group key's request also names its bank (X-Bank-Code): the same body sent to another bank is
    another request. A bank's key always works in its own bank, so its fingerprint leaves the bank out.
    """
    try:
        body = json.dumps(json.loads(request.body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        body = request.body.hex()
    parts = [request.method or "", request.path, body]
    if bank is not None and request_api_key(request).bank_id is None:
        parts.append(f"bank={bank.code}")
    message = "\n".join(parts)
    return salted_hmac(_FINGERPRINT_SALT, message, algorithm="sha256").hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    if not hmac.compare_digest(record.fingerprint, fingerprint):
        raise ApiError(
            _("This Idempotency-Key was already used for a different request; use a new key for a new request."),
            code="idempotency_key_reused",
            status=422,
            field=HEADER,
        )
    response = _json_response(record.response_body, status=record.status_code)
    response[REPLAYED_HEADER] = "true"
    return response


def _json_response(content: str, *, status: int) -> HttpResponse:
    return HttpResponse(content, status=status, content_type=CONTENT_TYPE)


def idempotent_create(
    request: HttpRequest,
    *,
    key: str,
    status: int,
    create: Callable[[], dict[str, Any] | tuple[int, dict[str, Any]]],
    bank: Bank | None = None,
) -> HttpResponse:
    """Run ``create`` once per key and answer with what it returns; replay that answer on retries.

    ``create`` returns the body, answered with ``status``, or (status, body) when it decides the
    status itself (an account posting whose reference was already booked: 200, not 201).
    Encoded as ninja encodes every other answer, so a created object reads the same as its GET.
    ``bank``: the bank the request works in, part of a group key's fingerprint.
    """
    api_key = request_api_key(request)
    fingerprint = request_fingerprint(request, bank=bank)
    record = idempotency_record_get(api_key=api_key, key=key)
    if record is not None:
        return _replay(record, fingerprint)
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        api_key=api_key,
                        key=key,
                        method=request.method or "",
                        path=request.path[:255],
                        fingerprint=fingerprint,
                        status_code=status,
                    )
            except IntegrityError:
                raise _LostRace from None
            result = create()
            status, body = result if isinstance(result, tuple) else (status, result)
            content = json.dumps(body, cls=NinjaJSONEncoder)
            record.status_code = status
            record.response_body = content
            record.save(update_fields=["status_code", "response_body"])
    except _LostRace:
        record = idempotency_record_get(api_key=api_key, key=key)
        if record is None:  # pragma: no cover - only if the winner's record were purged in between
            raise
        return _replay(record, fingerprint)
    return _json_response(content, status=status)
