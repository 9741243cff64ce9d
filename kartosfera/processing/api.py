"""The card processor's authorization endpoints (mounted at /api/processor/v1/, kartosfera/api/processor.py).

Thin: parse with a schema, turn the PIN block into a PIN candidate, call one
service, answer with a schema. The answer is built from the stored
authorization, so a retry gets exactly the first answer.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Path, Router, Schema

from kartosfera.api import schemas as api_schemas
from kartosfera.api.auth import request_actor
from kartosfera.processing.adjustments import authorization_increment, authorization_reverse
from kartosfera.processing.advices import advice_record
from kartosfera.processing.clearing import ClearingRecord, RecordResult, clearing_post_batch
from kartosfera.processing.codes import code_for
from kartosfera.processing.models import Authorization, AuthorizationAdjustment
from kartosfera.processing.pipeline import AuthorizationRequest
from kartosfera.processing.schemas import (
    AdjustmentOut,
    AdviceIn,
    AdviceOut,
    AuthorizationIn,
    AuthorizationOut,
    ClearingBatchIn,
    ClearingBatchOut,
    ClearingRecordIn,
    IncrementIn,
    ReversalIn,
)
from kartosfera.processing.services import authorization_decide

router = Router(tags=["authorizations"])
advices = Router(tags=["advices"])
clearing = Router(tags=["clearing"])

_ERRORS: dict[int, type[Schema]] = {
    400: api_schemas.ErrorOut,
    401: api_schemas.ErrorOut,
    403: api_schemas.ErrorOut,
    404: api_schemas.ErrorOut,
    409: api_schemas.ErrorOut,
    422: api_schemas.ErrorOut,
}


def authorization_request_from(payload: AuthorizationIn | AdviceIn) -> AuthorizationRequest:
    """The service's request from the API's body (the simulator converts its traffic the same way)."""
    three_ds = payload.three_ds
    return AuthorizationRequest(
        processor_id=payload.id,
        network_transaction_id=payload.network_transaction_id,
        pan=payload.card.pan,
        expiry=payload.card.expiry_date(),
        amount_minor=payload.amount_minor,
        currency=payload.currency,
        billing_amount_minor=payload.billing_amount_minor,
        billing_currency=payload.billing_currency,
        billing_rate=payload.billing_rate,
        channel=payload.channel,
        merchant_name=payload.merchant.name,
        merchant_city=payload.merchant.city,
        merchant_country=payload.merchant.country,
        mcc=payload.merchant.mcc,
        merchant_id=payload.merchant.id,
        terminal_id=payload.merchant.terminal_id,
        partial_supported=payload.partial_approval_supported,
        eci=three_ds.eci if three_ds else "",
        authentication_value=three_ds.authentication_value if three_ds else "",
        ds_transaction_id=three_ds.ds_transaction_id if three_ds else "",
        pin_entered=payload.pin_block is not None,
        sca_exemption=payload.sca_exemption or "",
        token_reference=payload.token_reference or "",
    )


def _decline_fields(reason: str, brand: str) -> dict[str, object]:
    code = code_for(reason) if reason else None
    advice = code.advice_code(brand) if code is not None else ""
    return {
        "decline_reason": reason or None,
        "decline_message": code.texts() if code is not None else None,
        "merchant_advice_code": advice or None,
    }


def authorization_answer(authorization: Authorization) -> dict[str, object]:
    """The API's answer for a stored authorization (the first answer and every retry's)."""
    return {
        "id": authorization.processor_id,
        "approved": authorization.approved,
        "response_code": authorization.response_code,
        "approved_amount_minor": authorization.approved_amount_minor,
        "currency": authorization.currency,
        "authorization_code": authorization.authorization_code or None,
        **_decline_fields(authorization.decline_reason, authorization.brand),
    }


@router.post(
    "",
    response={200: AuthorizationOut, **_ERRORS},
    summary="Decide an authorization",
    description=(
        "Approve or decline a card payment, hold the amount and count it in the daily limits. "
        "A retry with the same id and body gets the first answer; the same id with another body is 409."
    ),
)
def create_authorization(request: HttpRequest, payload: AuthorizationIn) -> dict[str, object]:
    decision = authorization_decide(
        actor=request_actor(request), request=authorization_request_from(payload), pin_block=payload.pin_block
    )
    return authorization_answer(decision.authorization)


def _check_path_id(authorization_id: str) -> None:
    # An id no request could have stored (too long, NUL) is simply not found; PostgreSQL would refuse the query.
    if len(authorization_id) > 64 or "\x00" in authorization_id:
        raise Http404


def adjustment_answer(adjustment: AuthorizationAdjustment) -> dict[str, object]:
    authorization = adjustment.authorization
    return {
        "id": adjustment.processor_id,
        "authorization_id": authorization.processor_id,
        "kind": adjustment.kind,
        "approved": adjustment.approved,
        "response_code": adjustment.response_code,
        "amount_minor": adjustment.amount_minor,
        "currency": authorization.billing_currency,
        **_decline_fields(adjustment.decline_reason, authorization.brand),
    }


@router.post(
    "/{authorization_id}/reversals",
    response={200: AdjustmentOut, **_ERRORS},
    summary="Reverse an authorization (fully or partly)",
    description=(
        "Release the hold, fully (no amount) or partly, and restore the daily limits. Always acknowledged; "
        "a retry with the same reversal id and body gets the first answer, another body is 409."
    ),
)
def create_reversal(
    request: HttpRequest, payload: ReversalIn, authorization_id: str = Path(..., example="auth-000123")
) -> dict[str, object]:
    _check_path_id(authorization_id)
    decision = authorization_reverse(
        actor=request_actor(request),
        authorization_id=authorization_id,
        reversal_id=payload.id,
        amount_minor=payload.amount_minor,
        billing_amount_minor=payload.billing_amount_minor,
    )
    return adjustment_answer(decision.adjustment)


@router.post(
    "/{authorization_id}/increments",
    response={200: AdjustmentOut, **_ERRORS},
    summary="Increase an authorization (incremental authorization)",
    description=(
        "Add to a pending authorization's hold (hotels, fuel, car rental) if the card, the daily limits and the "
        "funds allow. A retry with the same increment id and body gets the first answer, another body is 409."
    ),
)
def create_increment(
    request: HttpRequest, payload: IncrementIn, authorization_id: str = Path(..., example="auth-000123")
) -> dict[str, object]:
    _check_path_id(authorization_id)
    decision = authorization_increment(
        actor=request_actor(request),
        authorization_id=authorization_id,
        increment_id=payload.id,
        amount_minor=payload.amount_minor,
        billing_amount_minor=payload.billing_amount_minor,
    )
    return adjustment_answer(decision.adjustment)


@advices.post(
    "",
    response={200: AdviceOut, **_ERRORS},
    summary="Record an advice (a decision the scheme made in stand-in)",
    description=(
        "Always recorded and acknowledged, never re-decided: an approval holds its amount and counts in the daily "
        "limits even past them or the funds, and is flagged for review. A retry with the same id and body gets "
        "the first answer; another body is 409."
    ),
)
def create_advice(request: HttpRequest, payload: AdviceIn) -> dict[str, object]:
    decision = advice_record(
        actor=request_actor(request),
        request=authorization_request_from(payload),
        approved=payload.decision.approved,
        response_code=payload.decision.response_code,
        authorization_code=payload.decision.authorization_code,
    )
    authorization = decision.authorization
    return {"id": authorization.processor_id, "acknowledged": True, "needs_review": authorization.needs_review}


def clearing_record_from(payload: ClearingRecordIn) -> ClearingRecord:
    """The service's record from the API's body (the simulator converts its clearing the same way)."""
    merchant = payload.merchant
    return ClearingRecord(
        record_id=payload.id,
        kind=payload.kind,
        network_transaction_id=payload.network_transaction_id or "",
        pan=payload.card.pan if payload.card else "",
        expiry=payload.card.expiry_date() if payload.card else None,
        amount_minor=payload.amount_minor,
        currency=payload.currency,
        billing_amount_minor=payload.billing_amount_minor,
        billing_currency=payload.billing_currency,
        billing_rate=payload.billing_rate,
        settlement_amount_minor=payload.settlement_amount_minor,
        settlement_currency=payload.settlement_currency or "",
        acquirer_reference_number=payload.acquirer_reference_number,
        merchant_name=merchant.name if merchant else "",
        merchant_city=merchant.city if merchant else "",
        merchant_country=merchant.country if merchant else "",
        mcc=merchant.mcc if merchant else "",
        processing_date=payload.processing_date,
        final=payload.final,
        channel=payload.channel or "",
        original_record_id=payload.original_record_id or "",
    )


def clearing_answer(result: RecordResult) -> dict[str, object]:
    posting = result.posting
    return {
        "id": result.record_id,
        "outcome": result.outcome,
        "kind": posting.kind if posting else None,
        "authorization_id": posting.authorization.processor_id if posting and posting.authorization else None,
        "billing_amount_minor": posting.billing_amount_minor if posting else None,
        "billing_currency": posting.billing_currency if posting else None,
        "needs_review": posting.needs_review if posting else False,
        "error_code": result.error_code or None,
        "error_message": result.error_message or None,
    }


@clearing.post(
    "",
    response={200: ClearingBatchOut, **_ERRORS},
    summary="Post a batch of clearing records",
    description=(
        "Each record posts on its own, in its own transaction: matched to its authorization by the network "
        "transaction id (the cleared amount is posted, the hold released), or as a force post or refund; a "
        "chargeback or a clearing reversal credits back an earlier posting, never more than it took. "
        "A record sent before is skipped (duplicate); its id with another body is a conflict; neither stops the "
        "rest of the batch."
    ),
)
def post_clearing(request: HttpRequest, payload: ClearingBatchIn) -> dict[str, object]:
    records = [clearing_record_from(record) for record in payload.records]
    results = clearing_post_batch(actor=request_actor(request), records=records)
    return {"records": [clearing_answer(result) for result in results]}
