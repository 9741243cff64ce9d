"""The card core's writes: deciding an authorization (docs/processing.md).

``authorization_decide`` locks the card row, then the account row (always in
that order: no deadlocks), answers a retry of a known processor id with the
stored decision (or refuses another body with ``AuthorizationIdConflict``),
runs the pipeline, and writes the authorization, the hold on the account, the
day's counters and an audit row in ONE transaction; a decline caused by a control
the holder set adds its notice there too (kartosfera/notices/, under the card's lock).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import secrets
import string
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.accounts.models import Account
from kartosfera.acs.services import authentication_value_use
from kartosfera.cards.models import Brand, Card, CardProduct
from kartosfera.cards.pan import pan_brand, pan_fingerprint
from kartosfera.cards.pin import PIN_TRY_LIMIT
from kartosfera.cards.usability import card_usability
from kartosfera.core.audit import Actor, audit_event, audit_record
from kartosfera.core.errors import Conflict, ValidationFailed
from kartosfera.core.statements import (
    Statement,
    batch,
    column_count,
    insert_statement,
    row_to_instance,
    update_statement,
)
from kartosfera.notices.services import decline_notice_record
from kartosfera.processing import metrics
from kartosfera.processing.cbpr2 import conversion_charge_after_commit
from kartosfera.processing.codes import APPROVED, PARTIALLY_APPROVED, Reason, code_for
from kartosfera.processing.conversion import convert_at, eur_pln_reference_rate_of
from kartosfera.processing.holds import hold_expires_at
from kartosfera.processing.models import Authorization, AuthorizationStatus
from kartosfera.processing.pipeline import AuthorizationRequest, Context, run_pipeline
from kartosfera.processing.rows import authorization_id_text, decision_reads, hold_statements

AUTHORIZATION_CODE_ALPHABET = string.ascii_uppercase + string.digits


class AuthorizationIdConflict(Conflict):
    default_message = _("This authorization id was already used for another request.")
    code = "authorization_id_conflict"


@dataclass(frozen=True)
class Decision:
    """The stored authorization and whether this call only replayed it (a retry)."""

    authorization: Authorization
    replayed: bool


def request_fingerprint(
    request: AuthorizationRequest, *, card_fingerprint: str, extra: dict[str, object] | None = None
) -> str:
    """A keyed hash of the canonical request (+ ``extra``); the card number enters only as its keyed fingerprint."""
    fields: dict[str, object] = dataclasses.asdict(request)
    fields["pan"] = card_fingerprint
    if not fields["sca_exemption"]:
        # A request without a claim hashes as before the field existed: a retry across the upgrade replays.
        del fields["sca_exemption"]
    if extra:
        fields["extra"] = extra
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    key = settings.CARD_FINGERPRINT_KEY.encode()
    return hmac.new(key, b"kartosfera.authorization.v1\x00" + canonical.encode(), hashlib.sha256).hexdigest()


def replay(existing: Authorization, fingerprint: str) -> Decision:
    if not hmac.compare_digest(existing.request_fingerprint, fingerprint):
        raise AuthorizationIdConflict()
    return Decision(authorization=existing, replayed=True)


@dataclass(frozen=True)
class Billing:
    """The amount in the account's currency, and the rate when it was converted."""

    minor: int
    currency: str
    rate: Decimal | None = None


def billing_of(request: AuthorizationRequest, account_currency: str | None, *, now: dt.datetime) -> Billing:
    """The amount in the account's currency: the scheme's billing amount, else converted at the bank's rate
    (processing/conversion.py), else the amount itself when the currencies are the same."""
    if request.billing_amount_minor is not None:
        billing_currency = request.billing_currency or account_currency or request.currency
        if account_currency is not None and billing_currency != account_currency:
            raise ValidationFailed({"billing_currency": str(_("The billing currency must be the account's currency."))})
        return Billing(request.billing_amount_minor, billing_currency, request.billing_rate)
    if account_currency is not None and request.currency != account_currency:
        converted = convert_at(
            request.amount_minor, from_currency=request.currency, to_currency=account_currency, at=now
        )
        if converted is None:
            raise ValidationFailed(
                {"billing_amount": str(_("Send the billing amount in the account's currency for a converted payment."))}
            )
        return Billing(converted.amount_minor, account_currency, converted.rate)
    return Billing(request.amount_minor, request.currency)


def new_authorization(
    request: AuthorizationRequest, *, fingerprint: str, brand: str, now: dt.datetime, **values: object
) -> Authorization:
    return Authorization(
        processor_id=request.processor_id,
        network_transaction_id=request.network_transaction_id,
        pan_last4=request.pan[-4:],
        brand=brand,
        channel=request.channel,
        merchant_name=request.merchant_name,
        merchant_city=request.merchant_city,
        merchant_country=request.merchant_country,
        mcc=request.mcc,
        merchant_id=request.merchant_id,
        terminal_id=request.terminal_id,
        amount_minor=request.amount_minor,
        currency=request.currency,
        partial_supported=request.partial_supported,
        local_date=timezone.localdate(now),
        created_at=now,
        request_fingerprint=fingerprint,
        **values,
    )


def _decision_action(authorization: Authorization) -> str:
    if authorization.is_advice:
        return "processing.advice.recorded"
    if authorization.approved:
        return "processing.authorization.approved"
    return "processing.authorization.declined"


def _decision_audit_values(authorization: Authorization) -> dict[str, object]:
    return {
        "processor_id": authorization.processor_id,
        "card_last4": authorization.pan_last4,
        "channel": authorization.channel,
        "merchant_name": authorization.merchant_name,
        "mcc": authorization.mcc,
        "amount_minor": authorization.amount_minor,
        "currency": authorization.currency,
        "billing_amount_minor": authorization.billing_amount_minor,
        "held_minor": authorization.held_minor,
        "response_code": authorization.response_code,
        "decline_reason": authorization.decline_reason,
        "decided_by": authorization.decided_by,
        "needs_review": authorization.needs_review,
        "sca_exemption": authorization.sca_exemption,
    }


def audit_decision(actor: Actor, authorization: Authorization, *, customer_id: int | None, bank_id: int | None) -> None:
    """The decision's audit row, of the card's customer and bank (None, None: a card the group does not know)."""
    audit_record(
        actor=actor,
        action=_decision_action(authorization),
        obj=authorization,
        customer_id=customer_id,
        bank_id=bank_id,
        after=_decision_audit_values(authorization),
    )


def _decision_audit_statement(
    actor: Actor, authorization: Authorization, *, customer_id: int | None, bank_id: int | None
) -> Statement:
    """``audit_decision``'s row as an INSERT whose object id is the authorization's, inserted earlier in the batch."""
    event = audit_event(
        actor=actor,
        action=_decision_action(authorization),
        obj=authorization,
        customer_id=customer_id,
        bank_id=bank_id,
        after=_decision_audit_values(authorization),
    )
    return insert_statement(event, sql_values={"object_id": authorization_id_text(authorization.processor_id)})


def _declined_values(reason: str, brand: str) -> dict[str, object]:
    return {
        "approved": False,
        "response_code": code_for(reason).response_code(brand),
        "decline_reason": reason,
        "status": AuthorizationStatus.DECLINED,
    }


def _decide_unknown_card(
    *, actor: Actor, request: AuthorizationRequest, fingerprint: str, card_fp: str, now: dt.datetime
) -> Decision:
    existing = Authorization.objects.filter(processor_id=request.processor_id).first()
    if existing is not None:
        return replay(existing, fingerprint)
    # The number is ours but not with this expiry (e.g. an old card's date): 54, not "unknown card".
    number_known = Card.objects.filter(pan_fingerprint=card_fp).exists()
    reason = Reason.EXPIRY_MISMATCH if number_known else Reason.CARD_UNKNOWN
    brand = pan_brand(request.pan) or Brand.VISA
    billing = billing_of(request, None, now=now)
    authorization = new_authorization(
        request,
        fingerprint=fingerprint,
        brand=brand,
        now=now,
        billing_amount_minor=billing.minor,
        billing_currency=billing.currency,
        billing_rate=billing.rate,
        decided_by="card_known",
        **_declined_values(reason, brand),
    )
    authorization.save()
    audit_decision(actor, authorization, customer_id=None, bank_id=None)
    return Decision(authorization=authorization, replayed=False)


def _decide(*, actor: Actor, request: AuthorizationRequest, pin_block: str | None, now: dt.datetime) -> Decision:
    card_fp = pan_fingerprint(request.pan)
    fingerprint = request_fingerprint(request, card_fingerprint=card_fp)
    local_date = timezone.localdate(now)
    with batch() as reads:
        handles = [reads.add(statement) for statement in decision_reads(request, card_fp, local_date, now)]
    card_rows, existing_rows, spent_rows, rate_rows = (reads.rows(handle) for handle in handles)
    if not card_rows:
        return _decide_unknown_card(actor=actor, request=request, fingerprint=fingerprint, card_fp=card_fp, now=now)
    if existing_rows:
        return replay(row_to_instance(Authorization, existing_rows[0]), fingerprint)
    row = card_rows[0]
    card_end = column_count(Card)
    product_end = card_end + column_count(CardProduct)
    card = row_to_instance(Card, row[:card_end])
    card.product = row_to_instance(CardProduct, row[card_end:product_end])
    account_end = product_end + column_count(Account)
    account = row_to_instance(Account, row[product_end:account_end])
    customer_stopped = row[account_end] is not None
    billing = billing_of(request, account.currency, now=now)
    billing_minor = billing.minor
    brand = card.product.brand
    ctx = Context(
        request=request,
        card=card,
        account=account,
        brand=brand,
        usability=card_usability(card, now=now),
        now=now,
        local_date=local_date,
        billing_minor=billing_minor,
        approve_minor=billing_minor,
        pin_block=pin_block,
        spent={group: amount for group, amount, _count in spent_rows},
        counts={group: count for group, _amount, count in spent_rows},
        spent_read=True,
        reference_rate=eur_pln_reference_rate_of(rate_rows),
        customer_stopped=customer_stopped,
    )
    started = time.perf_counter_ns()
    decline, decided_by = run_pipeline(ctx)
    micros = (time.perf_counter_ns() - started) // 1000
    common: dict[str, object] = {
        "card": card,
        "account": account,
        "billing_amount_minor": billing_minor,
        "billing_currency": billing.currency,
        "billing_rate": billing.rate,
        "decided_by": decided_by,
        "decision_micros": min(micros, 2**31 - 1),
    }
    if decline is not None:
        values = _declined_values(decline.reason, brand)
    else:
        partial = ctx.approve_minor < billing_minor
        values = {
            "approved": True,
            "response_code": PARTIALLY_APPROVED if partial else APPROVED,
            "authorization_code": "".join(secrets.choice(AUTHORIZATION_CODE_ALPHABET) for _ in range(6)),
            # Partial approvals happen only without conversion, so both currencies' amounts are equal.
            "approved_amount_minor": ctx.approve_minor if partial else request.amount_minor,
            "held_minor": ctx.approve_minor,
            "status": AuthorizationStatus.PENDING,
            "expires_at": hold_expires_at(brand=brand, mcc=request.mcc, channel=request.channel, now=now),
            "sca_exemption": ctx.sca_exemption,
            # The 3-D Secure authentication the payment's value came from (check_sca), used below.
            "authentication": ctx.authentication,
        }
    authorization = new_authorization(request, fingerprint=fingerprint, brand=brand, now=now, **common, **values)
    # The writes go in one round trip: the authorization, the hold and the day's counters, the audit row.
    with batch() as writes:
        inserted = writes.add(insert_statement(authorization))
        if authorization.approved:
            for statement in hold_statements(ctx, authorization.held_minor):
                writes.add(statement)
        writes.add(_decision_audit_statement(actor, authorization, customer_id=card.customer_id, bank_id=card.bank_id))
        # The wrong-PIN and PSD2 counters, in the same round trip.
        card_updates = ctx.card_updates_for(approved=authorization.approved)
        if card_updates:
            writes.add(update_statement(card, {**card_updates, "updated_at": now}))
    _saved(authorization, writes.rows(inserted))
    if authorization.approved:
        ctx.account.held_minor += authorization.held_minor
        if ctx.authentication is not None:
            # Only an approval uses the value: a payment declined for its funds or limits may be sent again with it.
            authentication_value_use(record=ctx.authentication, card=card, now=now)
    if card_updates:
        _card_updated(actor, card, card_updates)
    conversion_charge_after_commit(authorization)  # CBPR2: an approved converted payment's charge, after commit
    # A holder's control declined it: the card page's notice and, at most hourly, an SMS (notices/services.py).
    decline_notice_record(authorization=authorization, card=card, now=now)
    return Decision(authorization=authorization, replayed=False)


def _saved(authorization: Authorization, returned: list[tuple[Any, ...]]) -> None:
    """Mark the batch-inserted ``authorization`` as saved, with the id the database gave it."""
    if returned:
        authorization.pk = returned[0][0]
    else:  # a database that cannot return the id from the INSERT
        authorization.pk = Authorization.objects.values_list("pk", flat=True).get(
            processor_id=authorization.processor_id
        )
    authorization._state.adding = False
    authorization._state.db = connection.alias


def hold_add(ctx: Context, amount: int, *, count: bool = True) -> None:
    """Hold ``amount`` more on the account and count it in the day's limits (the locks are held).

    ``count``: a new payment (a stand-in advice) counts in the day's count limits; an increment does not.
    """
    with batch() as writes:
        for statement in hold_statements(ctx, amount, count=count):
            writes.add(statement)
    ctx.account.held_minor += amount


def _card_updated(actor: Actor, card: Card, updates: dict[str, object]) -> None:
    """After the card row took the decision's ``updates`` (the wrong-PIN and PSD2 counters): audit a PIN the
    3rd wrong PIN blocked, and keep the instance in step."""
    count = updates.get("wrong_pin_count")
    if isinstance(count, int) and count >= PIN_TRY_LIMIT > card.wrong_pin_count:
        audit_record(
            actor=actor,
            action="processing.card.pin_blocked",
            obj=card,
            customer_id=card.customer_id,
            after={"wrong_pin_count": count},
        )
    for field, value in updates.items():
        setattr(card, field, value)


def authorization_decide(
    *, actor: Actor, request: AuthorizationRequest, pin_block: str | None = None, now: dt.datetime | None = None
) -> Decision:
    """Decide ``request`` (or replay the stored decision of its processor id) in one transaction.

    ``pin_block``: the request's ISO 9564 format-4 PIN block (hex), opened and
    compared with the card's keyed value inside the PIN check, under the card's
    lock (cards/pinblock.py), then dropped: never stored, logged or audited.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    try:
        with transaction.atomic():
            decision = _decide(actor=actor, request=request, pin_block=pin_block, now=now)
    except IntegrityError:
        # Two first requests of one id raced without a shared card lock (an unknown card, or one id
        # sent for two cards): the unique processor id let one in; this one now replays or conflicts.
        with transaction.atomic():
            existing = Authorization.objects.filter(processor_id=request.processor_id).first()
            if existing is None:
                raise
            decision = replay(existing, request_fingerprint(request, card_fingerprint=pan_fingerprint(request.pan)))
    _decision_count(decision, seconds=time.perf_counter() - started)
    return decision


def _decision_count(decision: Decision, *, seconds: float) -> None:
    # After the transaction: a decision that rolled back never reaches the metrics (processing/metrics.py).
    if decision.replayed:
        metrics.AUTHORIZATION_REPLAYS.inc()
        return
    authorization = decision.authorization
    metrics.authorizations(authorization.response_code, authorization.brand).inc()
    metrics.decision_seconds(authorization.brand).observe(seconds)
