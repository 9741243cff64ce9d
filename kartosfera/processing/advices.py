"""Advices: decisions the scheme already made in stand-in (0120), recorded and acknowledged, never re-decided.

Research §2 and "Recommended choices" 3: an advice is non-decisional. Whatever
the card's state, limits or funds, an approved advice holds its amount and counts
in the day's limits (the available funds may go below zero), and every advice is
flagged for review. The locks and the idempotency are authorization_decide's: the
card, then the account; the processor id once, the same body replayed, another
body 409.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from kartosfera.accounts.models import Account
from kartosfera.cards.models import Brand, Card
from kartosfera.cards.pan import pan_brand, pan_fingerprint
from kartosfera.cards.usability import card_usability
from kartosfera.core.audit import Actor
from kartosfera.processing.cbpr2 import conversion_charge_after_commit
from kartosfera.processing.holds import hold_expires_at
from kartosfera.processing.models import Authorization, AuthorizationStatus
from kartosfera.processing.pipeline import AuthorizationRequest, Context, read_spent
from kartosfera.processing.services import (
    AUTHORIZATION_CODE_ALPHABET,
    Decision,
    audit_decision,
    billing_of,
    hold_add,
    new_authorization,
    replay,
    request_fingerprint,
)


def _record(
    *,
    actor: Actor,
    request: AuthorizationRequest,
    approved: bool,
    response_code: str,
    authorization_code: str,
    now: dt.datetime,
) -> Decision:
    card_fp = pan_fingerprint(request.pan)
    decision_fields: dict[str, object] = {
        "approved": approved,
        "response_code": response_code,
        "authorization_code": authorization_code,
    }
    fingerprint = request_fingerprint(request, card_fingerprint=card_fp, extra=decision_fields)
    card = (
        Card.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pan_fingerprint=card_fp, expiry=request.expiry)
        .first()
    )
    existing = Authorization.objects.filter(processor_id=request.processor_id).first()
    if existing is not None:
        return replay(existing, fingerprint)
    account = Account.objects.select_for_update().get(pk=card.account_id) if card is not None else None
    billing = billing_of(request, account.currency if account is not None else None, now=now)
    billing_minor = billing.minor
    brand = card.product.brand if card is not None else (pan_brand(request.pan) or Brand.VISA)
    holds = approved and card is not None and account is not None
    values: dict[str, object] = {
        "card": card,
        "account": account,
        "billing_amount_minor": billing_minor,
        "billing_currency": billing.currency,
        "billing_rate": billing.rate,
        "approved": approved,
        "response_code": response_code,
        "authorization_code": authorization_code
        or ("".join(secrets.choice(AUTHORIZATION_CODE_ALPHABET) for _ in range(6)) if approved else ""),
        "approved_amount_minor": request.amount_minor if approved else 0,
        "held_minor": billing_minor if holds else 0,
        # An approval of a card we do not know is recorded pending with nothing held, for review.
        "status": AuthorizationStatus.PENDING if approved else AuthorizationStatus.DECLINED,
        "expires_at": hold_expires_at(brand=brand, mcc=request.mcc, channel=request.channel, now=now)
        if holds
        else None,
        "is_advice": True,
        "needs_review": True,
        "decided_by": "advice",
    }
    authorization = new_authorization(request, fingerprint=fingerprint, brand=brand, now=now, **values)
    authorization.save()
    if holds:
        assert card is not None and account is not None
        ctx = Context(
            request=request,
            card=card,
            account=account,
            brand=brand,
            usability=card_usability(card, now=now),
            now=now,
            local_date=timezone.localdate(now),
            billing_minor=billing_minor,
            approve_minor=billing_minor,
        )
        read_spent(ctx)
        hold_add(ctx, billing_minor)
    audit_decision(
        actor,
        authorization,
        customer_id=card.customer_id if card is not None else None,
        bank_id=card.bank_id if card is not None else None,
    )
    conversion_charge_after_commit(authorization)  # CBPR2: a stand-in approval converted too (processing/cbpr2.py)
    return Decision(authorization=authorization, replayed=False)


def advice_record(
    *,
    actor: Actor,
    request: AuthorizationRequest,
    approved: bool,
    response_code: str,
    authorization_code: str = "",
    now: dt.datetime | None = None,
) -> Decision:
    """Record the scheme's stand-in decision on ``request``: hold it if approved, past limits and funds too."""
    now = now or timezone.now()

    def attempt() -> Decision:
        with transaction.atomic():
            return _record(
                actor=actor,
                request=request,
                approved=approved,
                response_code=response_code,
                authorization_code=authorization_code,
                now=now,
            )

    try:
        return attempt()
    except IntegrityError:
        if not Authorization.objects.filter(processor_id=request.processor_id).exists():
            raise
        return attempt()
