"""Authentication records of every kind for the pages' tests, made through the ACS's own services."""

from __future__ import annotations

import json
from typing import Any

from kartosfera.acs.models import AuthenticationRecord, RecordStatus
from kartosfera.acs.services import areq_answer, authentication_value_verify, challenge_end
from kartosfera.acs.tests.helpers import CHALLENGE_URL, DS, areq, with_threeds_pin
from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_limits_change
from kartosfera.core.audit import Actor
from kartosfera.processing.models import Authorization, Channel
from kartosfera.processing.tests.helpers import CardFixture, decide
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant
from kartosfera.testing import factories

HOLDER = Actor.anonymous()  # the challenge page's actor: the holder, not signed in to the portal
ABOVE_LOW_VALUE = "50000"  # 500,00 zł: above the bank's 100 PLN a payment
TRUSTED_ID = "TRUSTED-001"
# The 3DS requestor mandates a challenge (threeDSRequestorChallengeInd 04): no exemption, whatever the amount.
CHALLENGE_MANDATED = "04"


def answered(tc: CardFixture, **overrides: Any) -> AuthenticationRecord:
    """The ACS's answer to an AReq for the card (by default 50,00 zł at "Księgarnia Sklep": low value, Y)."""
    ares = json.loads(areq_answer(actor=DS, areq=areq(tc, **overrides), challenge_url=CHALLENGE_URL))
    return AuthenticationRecord.objects.get(acs_trans_id=ares["acsTransID"])


def _with_pin(tc: CardFixture) -> None:
    if not ThreeDSProfile.objects.filter(customer_id=tc.card.customer_id).exists():
        with_threeds_pin(tc)


def trusted(tc: CardFixture, **overrides: Any) -> AuthenticationRecord:
    """A frictionless Y: the merchant ("Apteka Zaufana", TRUSTED-001) is on the holder's trusted list."""
    TrustedMerchant.objects.get_or_create(
        customer_id=tc.card.customer_id, merchant_id=TRUSTED_ID, defaults={"name": "Apteka", "country": "PL"}
    )
    fields = {"purchaseAmount": ABOVE_LOW_VALUE, "acquirerMerchantID": TRUSTED_ID, "merchantName": "Apteka Zaufana"}
    return answered(tc, **(fields | overrides))


def challenged(tc: CardFixture, **overrides: Any) -> AuthenticationRecord:
    """A C: the holder is to confirm with the 3DS PIN and the SMS code (by default 50,00 zł, mandated)."""
    _with_pin(tc)
    overrides.setdefault("threeDSRequestorChallengeInd", CHALLENGE_MANDATED)
    record = answered(tc, **overrides)
    assert record.status == RecordStatus.CHALLENGE_PENDING
    return record


def confirmed(tc: CardFixture, **overrides: Any) -> AuthenticationRecord:
    return challenge_end(actor=HOLDER, record=challenged(tc, **overrides), authenticated=True)


def not_confirmed(tc: CardFixture, *, reason: str = "09", challenge_cancel: str = "", **overrides: Any):
    record = challenged(tc, **overrides)
    return challenge_end(
        actor=HOLDER, record=record, authenticated=False, reason=reason, challenge_cancel=challenge_cancel
    )


def paid(tc: CardFixture, record: AuthenticationRecord) -> Authorization:
    """The internet payment that used ``record``'s authentication value, linked to it."""
    card = Card.objects.get(pk=tc.card.pk)
    if card.internet_limit_minor < record.purchase_amount_minor:
        # A new card's internet payments are off (limit 0): the holder opens them up to the non-cash limit.
        card_limits_change(actor=factories.SYSTEM, card=card, limits={"internet": card.noncash_limit_minor})
    decision = decide(
        tc,
        channel=Channel.ECOMMERCE,
        amount_minor=record.purchase_amount_minor,
        merchant_name=record.merchant_name,
        merchant_id=record.acquirer_merchant_id,
        eci=record.eci,
        authentication_value=record.authentication_value,
    )
    assert decision.authorization.approved, decision.authorization.decline_reason
    record.refresh_from_db()
    if record.status != RecordStatus.USED:
        # Until the card core verifies the value itself (issue 12's wiring), as it will: once.
        authentication_value_verify(
            record.authentication_value,
            card=tc.card,
            amount_minor=record.purchase_amount_minor,
            currency=record.purchase_currency,
            merchant_id=record.acquirer_merchant_id,
        )
    Authorization.objects.filter(pk=decision.authorization.pk).update(authentication=record)
    return Authorization.objects.get(pk=decision.authorization.pk)
