"""Clearing: the scheme's settled movements posted to the accounts (docs/processing.md, "Clearing").

Each clearing record becomes one immutable ``Posting`` in its own transaction,
idempotent by the record's id: a record seen before is skipped (``duplicate``),
its id with another body is a ``conflict``, and the rest of the batch still
posts. A clearing matches its authorization by the network transaction id, posts
the CLEARED amount (flagged for review beyond the MCC's over-capture tolerance),
lowers the hold and, when final, releases the rest; the authorization becomes
``settled`` (``partially_settled`` while a partial shipment leaves some held). A
clearing of an expired or reversed authorization still posts (the scheme has
settled). A force post (no authorization) and a refund post on their own. A
chargeback (the bank won a dispute) and a clearing reversal (the acquirer takes
back a duplicate presentment) credit back an earlier posting, never more than it
took. Locks: the card, then the account, as every write of the card core.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.accounts.models import Account
from kartosfera.cards.models import Card, LimitChannel
from kartosfera.cards.pan import pan_fingerprint
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.processing.adjustments import release_hold
from kartosfera.processing.codes import PARTIALLY_APPROVED
from kartosfera.processing.conversion import convert_at
from kartosfera.processing.models import (
    CHANNEL_LIMITS,
    POSTING_DEBITS,
    AdjustmentKind,
    Authorization,
    AuthorizationStatus,
    Channel,
    DailySpend,
    Posting,
    PostingKind,
)


class RecordKind:
    """The kinds of clearing record the processor sends (research §4; Lithic's CORRECTION and dispute credits)."""

    CLEARING = "clearing"  # a purchase or capture (with or without an authorization: a force post)
    REFUND = "refund"  # a return: credits the account
    CHARGEBACK = "chargeback"  # the bank won a dispute about a posting: credits (part of) it back
    CLEARING_REVERSAL = "clearing_reversal"  # the acquirer takes back a posting (a duplicate presentment)

    ALL = (CLEARING, REFUND, CHARGEBACK, CLEARING_REVERSAL)
    # The kinds that give back an earlier posting (named by its record id, or by the network transaction id).
    CORRECTIONS = (CHARGEBACK, CLEARING_REVERSAL)


class RecordOutcome:
    POSTED = "posted"
    DUPLICATE = "duplicate"  # the same record again: skipped, its first posting reported
    CONFLICT = "conflict"  # the same record id with another body: nothing posted
    REJECTED = "rejected"  # nothing to post it to (unknown card or original, currency, more than was posted)


class ReviewReason:
    OVER_TOLERANCE = "over_capture_beyond_tolerance"
    AFTER_REVERSAL = "cleared_after_reversal"


@dataclass(frozen=True)
class ToleranceRule:
    label: str
    mcc_ranges: tuple[tuple[int, int], ...]
    percent: int


# Over-capture a scheme allows above the authorized amount (research §3, §4); the first matching rule wins.
# Anything else: no tolerance (a clearing above the authorization is flagged for review, and still posts).
TOLERANCE_RULES: tuple[ToleranceRule, ...] = (
    ToleranceRule("restaurants, bars, taxis", ((5812, 5813), (4121, 4121)), 20),
    ToleranceRule("lodging, car rental, cruise", ((3351, 3999), (7011, 7011), (7512, 7512), (4411, 4411)), 15),
)
# A force post without a channel counts against the cash limit when its merchant category is cash (ATM, counter
# cash), else against the non-cash limit.
CASH_MCCS = frozenset({"6010", "6011"})


def tolerance_percent(mcc: str) -> int:
    code = int(mcc) if mcc.isdigit() else -1
    for rule in TOLERANCE_RULES:
        if any(low <= code <= high for low, high in rule.mcc_ranges):
            return rule.percent
    return 0


@dataclass(frozen=True)
class ClearingRecord:
    """One record of a clearing batch (the API's ``ClearingRecordIn``, as plain values)."""

    record_id: str
    kind: str
    amount_minor: int
    currency: str
    processing_date: dt.date
    network_transaction_id: str = ""
    pan: str = ""
    expiry: dt.date | None = None
    billing_amount_minor: int | None = None
    billing_currency: str | None = None
    billing_rate: Decimal | None = None
    settlement_amount_minor: int | None = None
    settlement_currency: str = ""
    acquirer_reference_number: str = ""
    merchant_name: str = ""
    merchant_city: str = ""
    merchant_country: str = ""
    mcc: str = ""
    final: bool = True
    # How the card was used (``Channel``): a force post counts in this channel's daily limits.
    channel: str = ""
    # A chargeback's or a clearing reversal's original: the record id of the posting it gives back.
    original_record_id: str = ""


@dataclass(frozen=True)
class RecordResult:
    record_id: str
    outcome: str
    posting: Posting | None = None
    error_code: str = ""
    error_message: str = ""
    extra: dict[str, object] = field(default_factory=dict)


class RecordRejected(DomainError):
    code = "record_rejected"


class RecordConflict(DomainError):
    default_message = _("This clearing record id was already used for another record.")
    code = "record_id_conflict"


# Fields added after records were first stored: left out of the fingerprint while empty, so that a record
# stored before they existed keeps its fingerprint (its re-send is still a duplicate, not a conflict).
_LATER_FIELDS = frozenset({"channel", "original_record_id"})


def record_fingerprint(record: ClearingRecord) -> str:
    """A keyed hash of the canonical record; the card number enters only as its keyed fingerprint."""
    fields = {
        name: getattr(record, name)
        for name in record.__dataclass_fields__
        if name not in _LATER_FIELDS or getattr(record, name)
    }
    fields["pan"] = pan_fingerprint(record.pan) if record.pan else ""
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    key = settings.CARD_FINGERPRINT_KEY.encode()
    return hmac.new(key, b"kartosfera.clearing.v1\x00" + canonical.encode(), hashlib.sha256).hexdigest()


def authorized_billing_minor(authorization: Authorization) -> int:
    """What the authorization approved in the account's currency, increments included."""
    approved = (
        authorization.approved_amount_minor
        if authorization.response_code == PARTIALLY_APPROVED
        else authorization.billing_amount_minor
    )
    increments = authorization.adjustments.filter(kind=AdjustmentKind.INCREMENT, approved=True).aggregate(
        total=Sum("amount_minor")
    )["total"]
    return approved + (increments or 0)


def daily_spend_add(*, card_id: int, local_date: dt.date, groups: tuple[str, ...], amount: int) -> None:
    """Add ``amount`` to the card's counters of ``groups`` on ``local_date`` (the card lock is held)."""
    for group in groups:
        updated = DailySpend.objects.filter(card_id=card_id, local_date=local_date, group=group).update(
            amount_minor=F("amount_minor") + amount
        )
        if not updated:
            DailySpend.objects.create(card_id=card_id, local_date=local_date, group=group, amount_minor=amount)


def force_post_limit_groups(*, channel: str, mcc: str) -> tuple[str, ...]:
    """The daily limits a force post counts in: its channel's (internet counts in non-cash too), else by its MCC."""
    if channel:
        return CHANNEL_LIMITS[channel]
    return (LimitChannel.CASH,) if mcc in CASH_MCCS else (LimitChannel.NONCASH,)


def posting_limit_groups(posting: Posting) -> tuple[str, ...]:
    """The daily limits a debit posting counts in, on its ``local_date`` (a credit counts in none)."""
    if posting.kind == PostingKind.CLEARING and posting.authorization is not None:
        return CHANNEL_LIMITS[posting.authorization.channel]
    if posting.kind == PostingKind.FORCE_POST:
        return force_post_limit_groups(channel=posting.channel, mcc=posting.mcc)
    return ()


def _matching_authorization(record: ClearingRecord) -> Authorization | None:
    if not record.network_transaction_id:
        return None
    return (
        Authorization.objects.filter(network_transaction_id=record.network_transaction_id, approved=True)
        .order_by("-created_at", "-pk")
        .first()
    )


def _original_posting(record: ClearingRecord) -> Posting | None:
    """The debit a chargeback or a clearing reversal gives back: named by its record id, else the latest debit
    with the record's network transaction id."""
    debits = Posting.objects.filter(kind__in=POSTING_DEBITS).select_related("authorization")
    if record.original_record_id:
        original = debits.filter(record_id=record.original_record_id).first()
        if original is not None and record.network_transaction_id not in ("", original.network_transaction_id):
            return None  # the two keys name different payments: nothing is given back on a guess
        return original
    if record.network_transaction_id:
        return (
            debits.filter(network_transaction_id=record.network_transaction_id).order_by("-created_at", "-pk").first()
        )
    return None


def _billing(record: ClearingRecord, account: Account, *, now: dt.datetime) -> tuple[int, Decimal | None]:
    """The amount in the account's currency and its rate: the scheme's, else the bank's rate (conversion.py)."""
    if record.billing_amount_minor is not None:
        if (record.billing_currency or account.currency) != account.currency:
            raise RecordRejected(str(_("The billing currency must be the account's currency.")), code="currency")
        return record.billing_amount_minor, record.billing_rate
    if record.currency == account.currency:
        return record.amount_minor, None
    try:
        converted = convert_at(record.amount_minor, from_currency=record.currency, to_currency=account.currency, at=now)
    except ValidationFailed as error:
        raise RecordRejected(error.field_errors["amount_minor"], code="amount_out_of_range") from error
    if converted is None:
        raise RecordRejected(
            str(_("Send the billing amount in the account's currency for a converted payment.")), code="billing_amount"
        )
    return converted.amount_minor, converted.rate


def _correction_billing(
    record: ClearingRecord, original: Posting, account: Account, *, now: dt.datetime
) -> tuple[int, Decimal | None]:
    """What a chargeback or a clearing reversal gives back in the account's currency.

    The scheme's billing amount when sent; else, in the original's transaction currency, at the ORIGINAL's
    rate (rounded down): the cardholder gets back what the original took for that amount, whatever
    today's rate, and never more.
    """
    if record.billing_amount_minor is not None or record.currency == account.currency:
        return _billing(record, account, now=now)
    if record.currency != original.currency:
        raise RecordRejected(
            str(_("A correction must be in the account's currency or in its original's currency.")), code="currency"
        )
    if record.amount_minor == original.amount_minor:
        return original.billing_amount_minor, original.billing_rate
    billing = record.amount_minor * original.billing_amount_minor // original.amount_minor
    if billing < 1:
        raise RecordRejected(str(_("The amount is too small to give back.")), code="amount_out_of_range")
    return billing, original.billing_rate


def _lock_card(record: ClearingRecord, *, authorization: Authorization | None, original: Posting | None) -> Card | None:
    """Lock the card the record posts to: the original's, the authorization's, else the record's by its number."""
    card_id = original.card_id if original is not None else None
    if card_id is None and authorization is not None:
        card_id = authorization.card_id
    if card_id is not None:
        return Card.objects.select_for_update(of=("self",)).get(pk=card_id)
    if record.pan and record.expiry is not None:
        return (
            Card.objects.select_for_update(of=("self",))
            .filter(pan_fingerprint=pan_fingerprint(record.pan), expiry=record.expiry)
            .first()
        )
    return None


def _post(*, actor: Actor, record: ClearingRecord, fingerprint: str, now: dt.datetime) -> RecordResult:
    correction = record.kind in RecordKind.CORRECTIONS
    original = _original_posting(record) if correction else None
    authorization = original.authorization if original is not None else None
    if not correction:
        authorization = _matching_authorization(record)
    # Locks: the card, then the account (the original's or the authorization's card, or the record's by number).
    card = _lock_card(record, authorization=authorization, original=original)
    existing = Posting.objects.filter(record_id=record.record_id).first()
    if existing is not None:
        if not hmac.compare_digest(existing.request_fingerprint, fingerprint):
            raise RecordConflict()
        return RecordResult(record.record_id, RecordOutcome.DUPLICATE, posting=existing)
    if record.channel and record.channel not in Channel.values:
        raise RecordRejected(str(_("Unknown channel.")), code="channel")
    if correction and (
        original is None or (record.pan and card is not None and pan_fingerprint(record.pan) != card.pan_fingerprint)
    ):
        raise RecordRejected(str(_("No earlier posting of this card matches this record.")), code="original_unknown")
    if card is None:
        raise RecordRejected(str(_("No card matches this record.")), code="card_unknown")
    account = Account.objects.select_for_update().get(pk=card.account_id)
    if original is not None:
        return _post_correction(
            actor=actor, record=record, fingerprint=fingerprint, now=now, card=card, account=account, original=original
        )
    billing, rate = _billing(record, account, now=now)
    values: dict[str, object] = {}
    groups: tuple[str, ...] = ()
    released = 0
    needs_review, review_reason = False, ""
    if record.kind == RecordKind.REFUND:
        # A refund credits the account and does not restore the daily limits (research §8: Lithic).
        kind, local_date, change = PostingKind.REFUND, timezone.localdate(now), billing
        if authorization is not None:
            values = _merchant_of(record, authorization)
    elif authorization is not None:
        authorization.refresh_from_db()  # under the locks: what it holds now
        kind, local_date, change = PostingKind.CLEARING, authorization.local_date, -billing
        cleared_before = (
            authorization.postings.filter(kind=PostingKind.CLEARING).aggregate(total=Sum("billing_amount_minor"))[
                "total"
            ]
            or 0
        )
        authorized = authorized_billing_minor(authorization)
        allowed = authorized + authorized * tolerance_percent(authorization.mcc) // 100
        if cleared_before + billing > allowed:
            needs_review, review_reason = True, ReviewReason.OVER_TOLERANCE
        if authorization.status == AuthorizationStatus.REVERSED:
            needs_review, review_reason = True, review_reason or ReviewReason.AFTER_REVERSAL
        released = _settle(authorization, billing, final=record.final)
        # The cleared amount replaces the held amount on the authorization's day, in its channel's limits.
        groups = CHANNEL_LIMITS[authorization.channel]
        values = _merchant_of(record, authorization)
        values["channel"] = authorization.channel  # how the card was used is the authorization's to say
    else:
        # A force post: no authorization to match; it counts on the day it posts, even past the limits (the
        # research's "Recommended choices" 9), in its channel's limits (internet too) when the record names one.
        kind, local_date, change = PostingKind.FORCE_POST, timezone.localdate(now), -billing
        groups = force_post_limit_groups(channel=record.channel, mcc=record.mcc)
    if groups:
        daily_spend_add(card_id=card.pk, local_date=local_date, groups=groups, amount=billing)
    posting = _write_posting(
        actor=actor,
        record=record,
        fingerprint=fingerprint,
        now=now,
        card=card,
        account=account,
        kind=kind,
        authorization=authorization,
        billing=billing,
        rate=rate,
        change=change,
        local_date=local_date,
        released=released,
        needs_review=needs_review,
        review_reason=review_reason,
        values=values,
    )
    return RecordResult(record.record_id, RecordOutcome.POSTED, posting=posting)


def _settle(authorization: Authorization, billing: int, *, final: bool) -> int:
    """Release what a clearing of ``billing`` releases of the authorization's hold; move its status. Returns it.

    A final clearing releases the whole hold; a partial shipment (not final) the cleared amount, at most
    what is held, and leaves the authorization ``partially_settled`` while some is still held. One with
    nothing held any more (cleared in full, or late: after its expiry or reversal) is ``settled``.
    """
    released = 0
    if authorization.is_open:
        released = authorization.held_minor if final else min(billing, authorization.held_minor)
        if released:
            release_hold(authorization, released, released_as=AuthorizationStatus.SETTLED)
    target = AuthorizationStatus.PARTIALLY_SETTLED if authorization.held_minor else AuthorizationStatus.SETTLED
    if authorization.status != target:
        authorization.move_to(target)
        authorization.save(update_fields=["status"])
    return released


def _merchant_of(record: ClearingRecord, payment: Authorization | Posting) -> dict[str, object]:
    """The record's merchant and channel, or those of the payment it belongs to where the record leaves them out
    (so that the history names the merchant of a refund or a correction)."""
    return {
        "merchant_name": record.merchant_name or payment.merchant_name,
        "merchant_city": record.merchant_city or payment.merchant_city,
        "merchant_country": record.merchant_country or payment.merchant_country,
        "mcc": record.mcc or payment.mcc,
        "channel": record.channel or payment.channel,
    }


def _post_correction(
    *,
    actor: Actor,
    record: ClearingRecord,
    fingerprint: str,
    now: dt.datetime,
    card: Card,
    account: Account,
    original: Posting,
) -> RecordResult:
    """A chargeback or a clearing reversal: credit back (part of) ``original``, never more than it took in all."""
    billing, rate = _correction_billing(record, original, account, now=now)
    given_back = original.corrections.aggregate(total=Sum("billing_amount_minor"))["total"] or 0
    if billing > original.billing_amount_minor - given_back:
        raise RecordRejected(
            str(_("This would give back more than the original posting took.")), code="exceeds_original"
        )
    if record.kind == RecordKind.CLEARING_REVERSAL:
        # The acquirer takes the posting back, as if it had not been: its day's limits get the amount back
        # (the original counted it there). Not so a chargeback: like a refund, it restores no limit (research §8).
        kind, local_date = PostingKind.CLEARING_REVERSAL, original.local_date
        for group in posting_limit_groups(original):
            DailySpend.objects.filter(card_id=card.pk, local_date=local_date, group=group).update(
                amount_minor=F("amount_minor") - billing
            )
    else:
        kind, local_date = PostingKind.CHARGEBACK, timezone.localdate(now)
    values = _merchant_of(record, original)
    posting = _write_posting(
        actor=actor,
        record=record,
        fingerprint=fingerprint,
        now=now,
        card=card,
        account=account,
        kind=kind,
        authorization=original.authorization,
        billing=billing,
        rate=rate,
        change=billing,
        local_date=local_date,
        released=0,
        needs_review=False,
        review_reason="",
        values={**values, "original": original},
    )
    return RecordResult(record.record_id, RecordOutcome.POSTED, posting=posting)


def _write_posting(
    *,
    actor: Actor,
    record: ClearingRecord,
    fingerprint: str,
    now: dt.datetime,
    card: Card,
    account: Account,
    kind: str,
    authorization: Authorization | None,
    billing: int,
    rate: Decimal | None,
    change: int,
    local_date: dt.date,
    released: int,
    needs_review: bool,
    review_reason: str,
    values: dict[str, object],
) -> Posting:
    """The balance, the immutable posting and its audit row (the caller holds the card and account locks)."""
    Account.objects.filter(pk=account.pk).update(balance_minor=F("balance_minor") + change)
    posting = Posting(
        record_id=record.record_id,
        kind=kind,
        authorization=authorization,
        card=card,
        account=account,
        network_transaction_id=record.network_transaction_id,
        acquirer_reference_number=record.acquirer_reference_number,
        merchant_name=record.merchant_name,
        merchant_city=record.merchant_city,
        merchant_country=record.merchant_country,
        mcc=record.mcc,
        channel=record.channel,
        amount_minor=record.amount_minor,
        currency=record.currency,
        billing_amount_minor=billing,
        billing_currency=account.currency,
        billing_rate=rate,
        settlement_amount_minor=record.settlement_amount_minor,
        settlement_currency=record.settlement_currency,
        balance_change_minor=change,
        released_minor=released,
        processing_date=record.processing_date,
        local_date=local_date,
        needs_review=needs_review,
        review_reason=review_reason,
        request_fingerprint=fingerprint,
        created_at=now,
    )
    for name, value in values.items():
        setattr(posting, name, value)
    posting.save()
    original = posting.original
    # Literals, so that the registry's test sees every action written (core/tests/test_audit_actions.py).
    if kind == PostingKind.REFUND:
        action = "processing.refund.posted"
    elif kind == PostingKind.CHARGEBACK:
        action = "processing.chargeback.posted"
    elif kind == PostingKind.CLEARING_REVERSAL:
        action = "processing.clearing.reversed"
    else:
        action = "processing.clearing.posted"  # a clearing or a force post
    audit_record(
        actor=actor,
        action=action,
        obj=posting,
        customer_id=card.customer_id,
        bank_id=card.bank_id,
        after={
            "record_id": posting.record_id,
            "kind": kind,
            "authorization": authorization.processor_id if authorization is not None else None,
            "original_record_id": original.record_id if original is not None else None,
            "card_last4": record.pan[-4:] if record.pan else None,
            "channel": posting.channel,
            "amount_minor": posting.amount_minor,
            "currency": posting.currency,
            "billing_amount_minor": billing,
            "balance_change_minor": change,
            "released_minor": released,
            "needs_review": needs_review,
            "review_reason": review_reason,
        },
    )
    return posting


def clearing_post_record(*, actor: Actor, record: ClearingRecord, now: dt.datetime | None = None) -> RecordResult:
    """Post one clearing record in its own transaction; never raises for a record's own fault."""
    now = now or timezone.now()
    fingerprint = record_fingerprint(record)

    def attempt() -> RecordResult:
        with transaction.atomic():
            return _post(actor=actor, record=record, fingerprint=fingerprint, now=now)

    try:
        try:
            return attempt()
        except IntegrityError:
            # The same record id raced in two batches for different cards: the unique id let one in.
            if not Posting.objects.filter(record_id=record.record_id).exists():
                raise
            return attempt()
    except RecordConflict as error:
        return RecordResult(
            record.record_id, RecordOutcome.CONFLICT, error_code=error.code, error_message=error.message
        )
    except RecordRejected as error:
        return RecordResult(
            record.record_id, RecordOutcome.REJECTED, error_code=error.code, error_message=error.message
        )


def clearing_post_batch(
    *, actor: Actor, records: list[ClearingRecord], now: dt.datetime | None = None
) -> list[RecordResult]:
    """Post a batch: each record on its own (one record's conflict or rejection does not stop the others)."""
    return [clearing_post_record(actor=actor, record=record, now=now) for record in records]
