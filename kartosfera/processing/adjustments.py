"""Reversals and increments of authorizations (docs/processing.md, "Reversals", "Increments").

A reversal is acknowledged always (it reports what the merchant or the scheme
did: 0400/0420): it releases what it names, at most what the authorization still
holds, and a reversal of an authorization that holds nothing any more (declined,
reversed, expired) is recorded and releases nothing. Idempotent by the
processor's reversal id: the same request gets the stored answer, another body
``AdjustmentIdConflict`` (409). The locks are taken as every write of the card
core takes them: the card, then the account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.accounts.models import Account
from kartosfera.cards.models import Card
from kartosfera.cards.usability import card_usability
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import Conflict
from kartosfera.customers.selectors import customer_payments_stopped
from kartosfera.processing.codes import APPROVED, Reason, code_for
from kartosfera.processing.models import (
    CHANNEL_LIMITS,
    HOLDING_STATUSES,
    AdjustmentKind,
    Authorization,
    AuthorizationAdjustment,
    AuthorizationStatus,
    DailySpend,
)
from kartosfera.processing.pipeline import INCREMENT_CHECKS, AuthorizationRequest, Context, Decline, run_pipeline
from kartosfera.processing.services import hold_add


class AdjustmentIdConflict(Conflict):
    default_message = _("This reversal or increment id was already used for another request.")
    code = "adjustment_id_conflict"


@dataclass(frozen=True)
class AdjustmentDecision:
    adjustment: AuthorizationAdjustment
    replayed: bool


def _fingerprint(**fields: object) -> str:
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    key = settings.CARD_FINGERPRINT_KEY.encode()
    return hmac.new(key, b"kartosfera.adjustment.v1\x00" + canonical.encode(), hashlib.sha256).hexdigest()


def lock_card_and_account(authorization: Authorization) -> tuple[int | None, int | None]:
    """Take the card core's locks for a change of ``authorization``: its card, then its account.

    Returns the cardholder's customer id and the card's bank (None, None for an unknown card), for the
    audit row: a bank's staff see only their bank's events (banks/scope.py).
    """
    owner: tuple[int | None, int | None] = (None, None)
    if authorization.card_id is not None:
        owner = (
            Card.objects.select_for_update()
            .filter(pk=authorization.card_id)
            .values_list("customer_id", "bank_id")
            .first()
        ) or (None, None)
    if authorization.account_id is not None:
        Account.objects.select_for_update().filter(pk=authorization.account_id).values_list("pk", flat=True).first()
    return owner


def release_hold(authorization: Authorization, amount: int, *, released_as: str = AuthorizationStatus.REVERSED) -> None:
    """Release ``amount`` of the authorization's hold: its row, the account's sum and its day's counters.

    The caller holds the locks and has checked 0 < amount <= held. Fully released, the
    authorization takes the status ``released_as`` (reversed, expired, or settled); a partially
    settled one becomes settled whatever released its rest: it was paid, in part.
    """
    authorization.held_minor -= amount
    if authorization.held_minor == 0:
        partly_paid = authorization.status == AuthorizationStatus.PARTIALLY_SETTLED
        authorization.move_to(AuthorizationStatus.SETTLED if partly_paid else released_as)
    authorization.save(update_fields=["held_minor", "status"])
    assert authorization.account_id is not None and authorization.card_id is not None  # only a card's approval holds
    Account.objects.filter(pk=authorization.account_id).update(held_minor=F("held_minor") - amount)
    DailySpend.objects.filter(
        card_id=authorization.card_id,
        local_date=authorization.local_date,
        group__in=CHANNEL_LIMITS[authorization.channel],
    ).update(amount_minor=F("amount_minor") - amount)


def _release_amount(authorization: Authorization, *, amount_minor: int | None, billing_amount_minor: int | None) -> int:
    """What a reversal releases, in the account's currency, at most what is held."""
    if billing_amount_minor is not None:
        wanted = billing_amount_minor
    elif amount_minor is None:
        wanted = authorization.held_minor
    elif authorization.currency == authorization.billing_currency:
        wanted = amount_minor
    else:
        # Converted, and the reversal names the transaction amount only: the same share of the billing amount.
        wanted = amount_minor * authorization.billing_amount_minor // authorization.amount_minor
    return min(wanted, authorization.held_minor)


def _reverse(
    *, actor: Actor, authorization_id: str, reversal_id: str, amount_minor: int | None, billing_amount_minor: int | None
) -> AdjustmentDecision:
    fingerprint = _fingerprint(
        authorization=authorization_id, kind=AdjustmentKind.REVERSAL, amount=amount_minor, billing=billing_amount_minor
    )
    authorization = Authorization.objects.filter(processor_id=authorization_id).first()
    if authorization is None:
        raise Http404
    customer_id, bank_id = lock_card_and_account(authorization)
    existing = AuthorizationAdjustment.objects.filter(processor_id=reversal_id).first()
    if existing is not None:
        if not hmac.compare_digest(existing.request_fingerprint, fingerprint):
            raise AdjustmentIdConflict()
        return AdjustmentDecision(adjustment=existing, replayed=True)
    authorization.refresh_from_db()  # under the locks: what it holds now
    release = 0
    if authorization.is_open:
        release = _release_amount(authorization, amount_minor=amount_minor, billing_amount_minor=billing_amount_minor)
    if release > 0:
        release_hold(authorization, release)
    adjustment = AuthorizationAdjustment.objects.create(
        processor_id=reversal_id,
        authorization=authorization,
        kind=AdjustmentKind.REVERSAL,
        amount_minor=release,
        approved=True,
        response_code=APPROVED,
        request_fingerprint=fingerprint,
    )
    audit_record(
        actor=actor,
        action="processing.authorization.reversed",
        obj=authorization,
        customer_id=customer_id,
        bank_id=bank_id,
        after={
            "processor_id": authorization.processor_id,
            "reversal_id": reversal_id,
            "released_minor": release,
            "held_minor": authorization.held_minor,
            "status": authorization.status,
        },
    )
    return AdjustmentDecision(adjustment=adjustment, replayed=False)


def authorization_reverse(
    *,
    actor: Actor,
    authorization_id: str,
    reversal_id: str,
    amount_minor: int | None = None,
    billing_amount_minor: int | None = None,
) -> AdjustmentDecision:
    """Reverse the authorization ``authorization_id`` fully (no amount) or partly; Http404 when unknown.

    ``amount_minor`` is in the transaction currency, ``billing_amount_minor`` in the
    account's; the release is at most what the authorization still holds.
    """

    def attempt() -> AdjustmentDecision:
        with transaction.atomic():
            return _reverse(
                actor=actor,
                authorization_id=authorization_id,
                reversal_id=reversal_id,
                amount_minor=amount_minor,
                billing_amount_minor=billing_amount_minor,
            )

    try:
        return attempt()
    except IntegrityError:
        # One reversal id sent for two authorizations of different cards at once: the unique id let one in,
        # and this attempt now finds it (the stored answer, or a conflict).
        if not AuthorizationAdjustment.objects.filter(processor_id=reversal_id).exists():
            raise
        return attempt()


def _increment(
    *,
    actor: Actor,
    authorization_id: str,
    increment_id: str,
    amount_minor: int,
    billing_amount_minor: int | None,
    now: dt.datetime,
) -> AdjustmentDecision:
    fingerprint = _fingerprint(
        authorization=authorization_id, kind=AdjustmentKind.INCREMENT, amount=amount_minor, billing=billing_amount_minor
    )
    authorization = Authorization.objects.filter(processor_id=authorization_id).first()
    if authorization is None:
        raise Http404
    card = None
    if authorization.card_id is not None:
        card = Card.objects.select_for_update(of=("self",)).select_related("product").get(pk=authorization.card_id)
    account = None
    if authorization.account_id is not None:
        account = Account.objects.select_for_update().get(pk=authorization.account_id)
    existing = AuthorizationAdjustment.objects.filter(processor_id=increment_id).first()
    if existing is not None:
        if not hmac.compare_digest(existing.request_fingerprint, fingerprint):
            raise AdjustmentIdConflict()
        return AdjustmentDecision(adjustment=existing, replayed=True)
    authorization.refresh_from_db()
    if billing_amount_minor is not None:
        extra = billing_amount_minor
    elif authorization.currency == authorization.billing_currency:
        extra = amount_minor
    else:
        # Converted: at the original's rate (the share of its billing amount), rounded up to the grosz.
        extra = -(-amount_minor * authorization.billing_amount_minor // authorization.amount_minor)
    decline: Decline | None
    if card is None or account is None or not authorization.is_open:
        decline, decided_by = Decline(Reason.ORIGINAL_NOT_PENDING), "original"
    else:
        ctx = Context(
            request=AuthorizationRequest(
                processor_id=authorization.processor_id,
                network_transaction_id=authorization.network_transaction_id,
                pan="",
                expiry=card.expiry,
                amount_minor=amount_minor,
                currency=authorization.currency,
                channel=authorization.channel,
                merchant_name=authorization.merchant_name,
                merchant_country=authorization.merchant_country,
                mcc=authorization.mcc,
            ),
            card=card,
            account=account,
            brand=authorization.brand,
            usability=card_usability(card, now=now),
            now=now,
            # The increment counts on the day the authorization counts on: a reversal restores that day.
            local_date=authorization.local_date,
            billing_minor=extra,
            approve_minor=extra,
            customer_stopped=customer_payments_stopped(card.customer_id),
        )
        decline, decided_by = run_pipeline(ctx, INCREMENT_CHECKS)
        if decline is None:
            hold_add(ctx, extra, count=False)
            authorization.held_minor += extra
            authorization.save(update_fields=["held_minor"])
    code = None if decline is None else code_for(decline.reason)
    adjustment = AuthorizationAdjustment.objects.create(
        processor_id=increment_id,
        authorization=authorization,
        kind=AdjustmentKind.INCREMENT,
        amount_minor=extra if decline is None else 0,
        approved=decline is None,
        response_code=APPROVED if code is None else code.response_code(authorization.brand),
        decline_reason="" if decline is None else decline.reason,
        request_fingerprint=fingerprint,
    )
    audit_record(
        actor=actor,
        action="processing.authorization.incremented" if decline is None else "processing.increment.declined",
        obj=authorization,
        customer_id=card.customer_id if card is not None else None,
        bank_id=card.bank_id if card is not None else None,
        after={
            "processor_id": authorization.processor_id,
            "increment_id": increment_id,
            "amount_minor": amount_minor,
            "added_minor": adjustment.amount_minor,
            "held_minor": authorization.held_minor,
            "response_code": adjustment.response_code,
            "decline_reason": adjustment.decline_reason,
            "decided_by": decided_by,
        },
    )
    return AdjustmentDecision(adjustment=adjustment, replayed=False)


def authorization_increment(
    *,
    actor: Actor,
    authorization_id: str,
    increment_id: str,
    amount_minor: int,
    billing_amount_minor: int | None = None,
    now: dt.datetime | None = None,
) -> AdjustmentDecision:
    """Add ``amount_minor`` (transaction currency) to an open authorization's hold, if the card and limits allow.

    Decided by ``INCREMENT_CHECKS``; declined ``original_not_pending`` when the authorization no longer
    holds money. Counts on the authorization's day. Idempotent by ``increment_id``; Http404 when unknown.
    """
    now = now or timezone.now()

    def attempt() -> AdjustmentDecision:
        with transaction.atomic():
            return _increment(
                actor=actor,
                authorization_id=authorization_id,
                increment_id=increment_id,
                amount_minor=amount_minor,
                billing_amount_minor=billing_amount_minor,
                now=now,
            )

    try:
        return attempt()
    except IntegrityError:
        if not AuthorizationAdjustment.objects.filter(processor_id=increment_id).exists():
            raise
        return attempt()


def hold_expire_due(*, now: dt.datetime | None = None, batch_size: int = 100) -> int:
    """Expire every open hold whose lifetime (holds.py) has run out: it drops out of the funds and the limits.

    The authorization becomes ``expired`` (not ``reversed``: a late clearing still posts); a partially
    settled one becomes ``settled`` (what was cleared is what was paid). Each one in its
    own transaction, under the card core's locks (card, then account); idempotent, and safe with two runs
    at once (the second finds the hold no longer pending). Returns how many expired.
    """
    now = now or timezone.now()
    actor = Actor.system("expire_holds")
    expired = 0
    last_pk = 0
    while True:
        due = list(
            Authorization.objects.filter(status__in=HOLDING_STATUSES, expires_at__lte=now, pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        for pk in due:
            with transaction.atomic():
                authorization = Authorization.objects.get(pk=pk)
                customer_id, bank_id = lock_card_and_account(authorization)
                authorization.refresh_from_db()
                if not authorization.is_open or authorization.held_minor == 0:
                    continue
                released = authorization.held_minor
                release_hold(authorization, released, released_as=AuthorizationStatus.EXPIRED)
                audit_record(
                    actor=actor,
                    action="processing.authorization.expired",
                    obj=authorization,
                    customer_id=customer_id,
                    bank_id=bank_id,
                    after={
                        "processor_id": authorization.processor_id,
                        "released_minor": released,
                        "status": authorization.status,
                    },
                )
                expired += 1
        if len(due) < batch_size:
            return expired
        last_pk = due[-1]
