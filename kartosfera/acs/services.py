"""The ACS's services: answering an AReq (areq_answer), checking an authentication value and using it once.

docs/3d-secure.md, "The ACS". The full card number of an AReq finds the card by its keyed fingerprint
and goes no further: the stored AReq, the ARes, the audit rows and the logs hold at most its last 4 digits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.acs import decision
from kartosfera.acs.authentication_value import VALUE_LENGTH, authentication_value_compute, values_equal
from kartosfera.acs.currencies import numeric_of
from kartosfera.acs.models import RECORD_TRANSITIONS, AuthenticationRecord, RecordStatus, RReqStatus, TransStatus
from kartosfera.cards.models import Brand, Card
from kartosfera.cards.pan import pan_fingerprint
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import Conflict, DomainError, InvalidTransition
from kartosfera.processing import exemptions
from kartosfera.secure3d.models import ThreeDSProfile

# A challenge must end within 5 minutes (EMV 3DS: the ACS's challenge timeout, transStatusReason 14).
CHALLENGE_TIMEOUT = dt.timedelta(minutes=5)
# How long a Y's authentication value can authorize a payment [ours: the merchant authorizes at checkout;
# a value that lingers is only a risk].
AUTHENTICATION_VALUE_VALIDITY = dt.timedelta(minutes=30)
# ECI of an authenticated payment per scheme (research §6): Visa 05, Mastercard 02.
ECI_AUTHENTICATED: dict[str, str] = {Brand.VISA: "05", Brand.MASTERCARD: "02"}
ACS_REFERENCE_NUMBER = "KARTOSFERA-ACS-1"
MESSAGE_VERSION = "2.2.0"

_STATUS_OF: dict[str, str] = {
    TransStatus.AUTHENTICATED: RecordStatus.AUTHENTICATED,
    TransStatus.CHALLENGE: RecordStatus.CHALLENGE_PENDING,
    TransStatus.NOT_AUTHENTICATED: RecordStatus.NOT_AUTHENTICATED,
    TransStatus.REJECTED: RecordStatus.NOT_AUTHENTICATED,
}


class AuthenticationValueInvalid(DomainError):
    code = "authentication_value_invalid"


@dataclass(frozen=True)
class AReq:
    """A schema-checked AReq (acs/schemas.py): ``fields`` is the JSON as sent, ``pan`` its acctNumber."""

    fields: dict[str, Any]
    pan: str

    @property
    def three_ds_server_trans_id(self) -> uuid.UUID:
        return uuid.UUID(str(self.fields["threeDSServerTransID"]))

    def without_pan(self) -> dict[str, Any]:
        stored = {key: value for key, value in self.fields.items() if key != "acctNumber"}
        stored["acctNumberLast4"] = self.pan[-4:]
        return stored


def _fingerprint(areq: AReq) -> str:
    # Keyed: the body holds the card number, and a plain hash of it is brute-forced in minutes.
    body = json.dumps(areq.fields, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(settings.CARD_FINGERPRINT_KEY.encode(), body.encode(), hashlib.sha256).hexdigest()


def _card_of(pan: str, card_expiry: str | None) -> Card | None:
    found = Card.objects.select_related("product", "account", "customer").filter(pan_fingerprint=pan_fingerprint(pan))
    # cardExpiryDate (YYMM) is optional in the AReq; when given, it must be the card's.
    cards = [card for card in found if not card_expiry or f"{card.expiry:%y%m}" == card_expiry]
    # A renewed card keeps its number: the newest expiry is the card in use.
    return max(cards, key=lambda card: card.expiry, default=None)


def _transition(record: AuthenticationRecord, to_status: str) -> None:
    if to_status not in RECORD_TRANSITIONS[record.status]:
        raise InvalidTransition(f"an authentication cannot move from {record.status} to {to_status}")
    record.status = to_status


def _authenticate(record: AuthenticationRecord, card: Card, now: dt.datetime) -> None:
    """Give ``record`` its ECI and authentication value: the holder is authenticated at ``now``."""
    record.eci = ECI_AUTHENTICATED[card.product.brand]
    record.authenticated_at = now
    record.expires_at = now + AUTHENTICATION_VALUE_VALIDITY
    record.authentication_value = authentication_value_compute(
        card_id=card.pk,
        amount_minor=record.purchase_amount_minor,
        currency=record.purchase_currency,
        merchant_id=record.acquirer_merchant_id,
        acs_trans_id=record.acs_trans_id,
        at=now,
    )


def _ares(record: AuthenticationRecord, areq: AReq, *, challenge_url: str) -> dict[str, Any]:
    ares: dict[str, Any] = {
        "messageType": "ARes",
        "messageVersion": str(areq.fields.get("messageVersion") or MESSAGE_VERSION),
        "threeDSServerTransID": str(record.three_ds_server_trans_id),
        "acsTransID": str(record.acs_trans_id),
        "acsReferenceNumber": ACS_REFERENCE_NUMBER,
        "transStatus": record.trans_status,
    }
    if areq.fields.get("dsTransID"):
        ares["dsTransID"] = str(areq.fields["dsTransID"])
    if record.trans_status_reason:
        ares["transStatusReason"] = record.trans_status_reason
    if record.trans_status == TransStatus.AUTHENTICATED:
        ares["authenticationValue"] = record.authentication_value
        ares["eci"] = record.eci
    if record.trans_status == TransStatus.CHALLENGE:
        ares["acsURL"] = challenge_url
        ares["authenticationType"] = "02"  # dynamic: the 3DS PIN and a one-time SMS code
        ares["acsChallengeMandated"] = "Y"  # PSD2: a payment without an exemption needs SCA
    return ares


def _audit_after(record: AuthenticationRecord) -> dict[str, Any]:
    return {
        "acs_trans_id": str(record.acs_trans_id),
        "trans_status": record.trans_status,
        "trans_status_reason": record.trans_status_reason,
        "decision_rule": record.decision_rule,
        "exemption": record.exemption,
        "card_last4": record.card_last4,
        "merchant": record.merchant_name,
        "amount_minor": record.purchase_amount_minor,
        "currency": record.purchase_currency,
    }


def areq_answer(*, actor: Actor, areq: AReq, challenge_url: str, now: dt.datetime | None = None) -> str:
    """Decide the AReq and return the ARes's JSON text; a retry of one threeDSServerTransID gets the same text.

    Conflict when the id was used with another body.
    """
    fingerprint = _fingerprint(areq)
    existing = AuthenticationRecord.objects.filter(three_ds_server_trans_id=areq.three_ds_server_trans_id).first()
    if existing is None:
        try:
            return _areq_decide(actor, areq, fingerprint, challenge_url, now or timezone.now())
        except IntegrityError:
            # A concurrent first request with the same id won the insert: answer as its retry.
            existing = AuthenticationRecord.objects.get(three_ds_server_trans_id=areq.three_ds_server_trans_id)
    if not hmac.compare_digest(existing.request_fingerprint, fingerprint):
        raise Conflict(
            _("This threeDSServerTransID was already used for another authentication request."),
            code="trans_id_reused",
        )
    return existing.ares


@transaction.atomic
def _areq_decide(actor: Actor, areq: AReq, fingerprint: str, challenge_url: str, now: dt.datetime) -> str:
    f = areq.fields
    card = _card_of(areq.pan, f.get("cardExpiryDate"))
    profile = ThreeDSProfile.objects.filter(customer_id=card.customer_id).first() if card else None
    purchase = decision.Purchase(
        amount_minor=int(f["purchaseAmount"]),
        currency=f["purchaseCurrency"],
        message_category=f["messageCategory"],
        device_channel=f["deviceChannel"],
        acquirer_merchant_id=f["acquirerMerchantID"],
        challenge_indicator=f.get("threeDSRequestorChallengeInd") or "01",
    )
    # The customer is read with the card (_card_of): no query of its own.
    stopped = card is not None and card.customer.payments_stopped
    outcome = decision.decide(
        decision.Context(card=card, purchase=purchase, now=now, profile=profile, customer_stopped=stopped)
    )
    record = AuthenticationRecord(
        three_ds_server_trans_id=areq.three_ds_server_trans_id,
        acs_trans_id=uuid.uuid4(),
        request_fingerprint=fingerprint,
        card=card,
        bank_id=card.bank_id if card else None,
        card_last4=areq.pan[-4:],
        merchant_name=f["merchantName"],
        mcc=f["mcc"],
        merchant_country=f["merchantCountryCode"],
        acquirer_bin=f["acquirerBIN"],
        acquirer_merchant_id=f["acquirerMerchantID"],
        purchase_amount_minor=purchase.amount_minor,
        purchase_currency=purchase.currency,
        purchase_exponent=int(f["purchaseExponent"]),
        message_category=purchase.message_category,
        device_channel=purchase.device_channel,
        trans_status=outcome.trans_status,
        trans_status_reason=outcome.reason,
        decision_rule=outcome.rule,
        exemption=outcome.exemption,
        status=_STATUS_OF[outcome.trans_status],
        created_at=now,
        areq=areq.without_pan(),
    )
    if outcome.trans_status == TransStatus.AUTHENTICATED:
        assert card is not None
        record.eci = ECI_AUTHENTICATED[card.product.brand]
        _authenticate(record, card, now)
    elif outcome.trans_status == TransStatus.CHALLENGE:
        record.expires_at = now + CHALLENGE_TIMEOUT
    record.ares = json.dumps(_ares(record, areq, challenge_url=challenge_url), separators=(",", ":"))
    record.save(force_insert=True)
    audit_record(
        actor=actor,
        action="acs.authentication.answered",
        obj=record,
        customer_id=card.customer_id if card else None,
        bank_id=card.bank_id if card else None,
        after=_audit_after(record),
    )
    return record.ares


# The ECI values an authorization may carry per scheme (research §6): Visa 05 authenticated, 06 attempted, 07 not
# authenticated; Mastercard 02 authenticated, 01 attempted, 00 not authenticated, 06 an exemption the issuer
# granted. The card core accepts only the ECI our record gave, and only one of its scheme's.
SCHEME_ECI: dict[str, frozenset[str]] = {
    Brand.VISA: frozenset({"05", "06", "07"}),
    Brand.MASTERCARD: frozenset({"02", "01", "00", "06"}),
}


def _ceiling_minor(record: AuthenticationRecord) -> int:
    """The most a payment may authorize with ``record``'s value: its amount plus the MCC's over-capture tolerance.

    The same tolerance clearing allows over an authorization (a tip, the minibar: processing/clearing.py); less is
    always fine (a split shipment authorizes part of the order).
    """
    from kartosfera.processing.clearing import tolerance_percent

    return record.purchase_amount_minor * (100 + tolerance_percent(record.mcc)) // 100


def authentication_value_check(
    value: str,
    *,
    card: Card,
    amount_minor: int,
    currency: str,
    merchant_id: str,
    eci: str,
    now: dt.datetime,
) -> AuthenticationRecord:
    """The record of an authentication value that is valid for this payment, locked (select_for_update); it
    writes nothing. Call it inside a transaction, and ``authentication_value_use`` in the same one.

    Valid: a value of ours (the MAC recomputed over the record's amount and acsTransID and its moment of
    authentication, with this payment's card, currency and merchant), its record ``authenticated`` (not used yet)
    and unexpired, ``eci`` the record's and one of the card's scheme (SCHEME_ECI), and ``amount_minor`` above 0
    and at most the authenticated amount plus the MCC's over-capture tolerance. ``currency``: ISO 4217 numeric or
    alphabetic. The row lock makes two payments racing with one value see it one after the other: the second
    finds it used. AuthenticationValueInvalid otherwise, without saying which rule failed.
    """
    invalid = AuthenticationValueInvalid(_("The 3-D Secure authentication value is not valid for this payment."))
    if len(value) != VALUE_LENGTH:
        raise invalid  # not one of ours: no need to look
    record = AuthenticationRecord.objects.select_for_update().filter(authentication_value=value).first()
    numeric = numeric_of(currency or "")
    if record is None or numeric is None or record.card_id is None:
        raise invalid
    expected = authentication_value_compute(
        card_id=card.pk,
        amount_minor=record.purchase_amount_minor,
        currency=numeric,
        merchant_id=merchant_id,
        acs_trans_id=record.acs_trans_id,
        at=record.authenticated_at or record.created_at,
    )
    if not values_equal(expected, value):
        raise invalid
    if record.status != RecordStatus.AUTHENTICATED or record.expires_at is None or record.expires_at <= now:
        raise invalid
    if eci != record.eci or eci not in SCHEME_ECI.get(card.product.brand, frozenset()):
        raise invalid
    if not 0 < amount_minor <= _ceiling_minor(record):
        raise invalid
    return record


def authentication_value_use(*, record: AuthenticationRecord, card: Card, now: dt.datetime) -> None:
    """Mark ``record``'s value used (it works once) with its audit row; in the transaction of its check."""
    _transition(record, RecordStatus.USED)
    record.used_at = now
    record.save(update_fields=["status", "used_at"])
    audit_record(
        actor=Actor.system("acs"),
        action="acs.authentication.used",
        obj=record,
        customer_id=card.customer_id,
        bank_id=card.bank_id,
        after={"acs_trans_id": str(record.acs_trans_id), "card_last4": record.card_last4},
    )


@transaction.atomic
def authentication_value_verify(
    value: str,
    *,
    card: Card,
    amount_minor: int,
    currency: str,
    merchant_id: str,
    eci: str,
    now: dt.datetime | None = None,
) -> AuthenticationRecord:
    """Check an authentication value against the payment it comes with and mark it used: the two steps at once.

    The card core checks in its decision and uses the value only when it approves (processing/pipeline.py,
    ``check_sca``). AuthenticationValueInvalid as ``authentication_value_check``; nothing is written then.
    """
    now = now or timezone.now()
    record = authentication_value_check(
        value, card=card, amount_minor=amount_minor, currency=currency, merchant_id=merchant_id, eci=eci, now=now
    )
    authentication_value_use(record=record, card=card, now=now)
    return record


class ChallengeClosed(DomainError):
    code = "challenge_closed"


# EMV 3DS challengeCancel (research §6): why a challenge ended without the holder's answer.
CHALLENGE_CANCEL_TIMED_OUT = "05"  # the holder began but did not finish in time
CHALLENGE_CANCEL_NO_CREQ = "06"  # the browser never brought the CReq
# transStatusReason of a challenge that ended without authentication.
REASON_TIMED_OUT = "14"
REASON_LOCKED = "19"  # the challenge's failures locked internet payments


def _cres(record: AuthenticationRecord) -> dict[str, Any]:
    return {
        "messageType": "CRes",
        "messageVersion": str(record.areq.get("messageVersion") or MESSAGE_VERSION),
        "threeDSServerTransID": str(record.three_ds_server_trans_id),
        "acsTransID": str(record.acs_trans_id),
        "acsCounterAtoS": f"{record.interactions:03d}",
        "challengeCompletionInd": "Y",
        "transStatus": record.trans_status,
    }


def _rreq(record: AuthenticationRecord, *, challenge_cancel: str) -> dict[str, Any]:
    rreq: dict[str, Any] = {
        "messageType": "RReq",
        "messageVersion": str(record.areq.get("messageVersion") or MESSAGE_VERSION),
        "threeDSServerTransID": str(record.three_ds_server_trans_id),
        "acsTransID": str(record.acs_trans_id),
        "messageCategory": record.message_category,
        "authenticationMethod": "02",  # dynamic: the 3DS PIN and a one-time SMS code
        "authenticationType": "02",
        "interactionCounter": f"{min(record.interactions, 99):02d}",
        "transStatus": record.trans_status,
    }
    if record.areq.get("dsTransID"):
        rreq["dsTransID"] = str(record.areq["dsTransID"])
    if record.trans_status == TransStatus.AUTHENTICATED:
        rreq["authenticationValue"] = record.authentication_value
        rreq["eci"] = record.eci
    if record.trans_status_reason:
        rreq["transStatusReason"] = record.trans_status_reason
    if challenge_cancel:
        rreq["challengeCancel"] = challenge_cancel
    return rreq


_ENDED_STATUS: dict[str, str] = {
    TransStatus.AUTHENTICATED: RecordStatus.AUTHENTICATED,
    TransStatus.NOT_AUTHENTICATED: RecordStatus.FAILED,
}


@transaction.atomic
def challenge_end(
    *,
    actor: Actor,
    record: AuthenticationRecord,
    authenticated: bool,
    reason: str = "",
    challenge_cancel: str = "",
    now: dt.datetime | None = None,
) -> AuthenticationRecord:
    """End a pending challenge: Y (the holder passed) or N with ``reason``; write the CRes and the RReq.

    A Y is strong customer authentication: the card's PSD2 counters restart from 0 (RTS art. 16), under the
    card's row lock, and the record gets its ECI and authentication value, valid from now. A ``reason`` of 14
    (timed out) ends the record ``timed_out``, any other N ``failed``. The RReq is due at once: the directory
    server's client (acs/directory.py) delivers it after commit, with retries. ChallengeClosed when the
    challenge has already ended (a double submit, or the timeout sweep came first): nothing is written then.
    """
    now = now or timezone.now()
    record = AuthenticationRecord.objects.select_for_update().get(pk=record.pk)
    if record.status != RecordStatus.CHALLENGE_PENDING:
        raise ChallengeClosed(_("This authentication has already ended."))
    if authenticated:
        assert record.card_id is not None
        card = Card.objects.select_for_update().select_related("product").get(pk=record.card_id)
        _transition(record, RecordStatus.AUTHENTICATED)
        record.trans_status, record.trans_status_reason = TransStatus.AUTHENTICATED, ""
        _authenticate(record, card, now)
        reset = exemptions.reset(card)
        if reset:
            Card.objects.filter(pk=card.pk).update(**reset, updated_at=now)
    else:
        timed_out = reason == REASON_TIMED_OUT
        _transition(record, RecordStatus.TIMED_OUT if timed_out else RecordStatus.FAILED)
        record.trans_status, record.trans_status_reason = TransStatus.NOT_AUTHENTICATED, reason
        record.expires_at = None
    record.challenge_ended_at = now
    record.challenge_token_digest = record.code_digest = ""
    record.cres = json.dumps(_cres(record), separators=(",", ":"))
    record.rreq = json.dumps(_rreq(record, challenge_cancel=challenge_cancel), separators=(",", ":"))
    record.rreq_status, record.rreq_next_at = RReqStatus.PENDING, now
    record.save()
    audit_record(
        actor=actor,
        action="acs.challenge.ended",
        obj=record,
        customer_id=record.card.customer_id if record.card else None,
        bank_id=record.bank_id,
        after=_audit_after(record) | {"challenge_cancel": challenge_cancel, "interactions": record.interactions},
    )
    return record
