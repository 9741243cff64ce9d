"""Reversals of authorizations: releasing a hold, restoring the daily limits (docs/processing.md, "Reversals").

A reversal is acknowledged always (it reports what the merchant or the scheme
did: 0400/0420): it releases what it names, at most what the authorization still
holds, and a reversal of an authorization that holds nothing any more (declined,
reversed, expired) is recorded and releases nothing. Idempotent by the
processor's reversal id: the same request gets the stored answer, another body
``AdjustmentIdConflict`` (409). The locks are taken as every write of the card
core takes them: the card, then the account.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from kartosfera.accounts.models import Account
from kartosfera.cards.models import Card
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import Conflict
from kartosfera.processing.codes import APPROVED
from kartosfera.processing.models import (
    CHANNEL_LIMITS,
    AdjustmentKind,
    Authorization,
    AuthorizationAdjustment,
    AuthorizationStatus,
    DailySpend,
)


class AdjustmentIdConflict(Conflict):
    default_message = _("This reversal id was already used for another request.")
    code = "adjustment_id_conflict"


@dataclass(frozen=True)
class AdjustmentDecision:
    adjustment: AuthorizationAdjustment
    replayed: bool


def _fingerprint(**fields: object) -> str:
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    key = settings.CARD_FINGERPRINT_KEY.encode()
    return hmac.new(key, b"kartosfera.adjustment.v1\x00" + canonical.encode(), hashlib.sha256).hexdigest()


def lock_card_and_account(authorization: Authorization) -> int | None:
    """Take the card core's locks for a change of ``authorization``: its card, then its account.

    Returns the cardholder's customer id (None for an unknown card), for the audit row.
    """
    customer_id = None
    if authorization.card_id is not None:
        customer_id = (
            Card.objects.select_for_update()
            .filter(pk=authorization.card_id)
            .values_list("customer_id", flat=True)
            .first()
        )
    if authorization.account_id is not None:
        Account.objects.select_for_update().filter(pk=authorization.account_id).values_list("pk", flat=True).first()
    return customer_id


def release_hold(authorization: Authorization, amount: int) -> None:
    """Release ``amount`` of the authorization's hold: its row, the account's sum and its day's counters.

    The caller holds the locks and has checked 0 < amount <= held. Fully released, the
    authorization is reversed.
    """
    authorization.held_minor -= amount
    if authorization.held_minor == 0:
        authorization.status = AuthorizationStatus.REVERSED
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
    customer_id = lock_card_and_account(authorization)
    existing = AuthorizationAdjustment.objects.filter(processor_id=reversal_id).first()
    if existing is not None:
        if not hmac.compare_digest(existing.request_fingerprint, fingerprint):
            raise AdjustmentIdConflict()
        return AdjustmentDecision(adjustment=existing, replayed=True)
    authorization.refresh_from_db()  # under the locks: what it holds now
    release = 0
    if authorization.status == AuthorizationStatus.PENDING:
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
