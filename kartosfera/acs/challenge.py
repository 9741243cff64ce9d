"""The browser challenge at the ACS: the CReq, the 3DS PIN and the SMS code, the final CRes.

docs/3d-secure.md, "The challenge". The 3DS requestor posts ``creq`` to the acsURL in an iframe
(``challenge_begin``); the holder types the 3DS PIN and the code sent by SMS, whose text names the amount and the
merchant (PSD2 RTS art. 5, dynamic linking), and gets at most 3 codes (``challenge_code_resend``); a right pair
ends the challenge Y (``challenge_answer``), the holder's cancel or 5 minutes end it N. The third wrong PIN or
code in a row (secure3d: counted per customer, across challenges) locks internet payments until the next
Warsaw midnight and ends it N 19.

The page is framed by the merchant's site, where our cookies do not reach (third-party cookies are blocked by
browsers), so no session or CSRF cookie can bind the form to the challenge: an unguessable per-challenge token
does, made when the CReq arrives, sent in a hidden field and kept only as a keyed digest. A form without the
right token is answered 404. Neither the PIN nor the code is stored, logged or audited: the code only as a
keyed digest bound to the amount and merchant it was sent for.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.acs.currencies import NUMERIC_TO_ALPHA
from kartosfera.acs.decision import UNUSABLE_ANSWERS
from kartosfera.acs.directory import ACS_ACTOR, SYNCHRONOUS_TIMEOUT, directory_server_client, rreq_deliver
from kartosfera.acs.models import AuthenticationRecord, RecordStatus
from kartosfera.acs.services import (
    CHALLENGE_CANCEL_NO_CREQ,
    CHALLENGE_CANCEL_TIMED_OUT,
    REASON_LOCKED,
    REASON_TIMED_OUT,
    ChallengeClosed,
    challenge_end,
)
from kartosfera.acs.sms_texts import SMS_PAYMENT_CODE
from kartosfera.banks.models import Bank
from kartosfera.cards.usability import card_usability
from kartosfera.core.audit import audit_record
from kartosfera.core.crypto import keyed_digest
from kartosfera.core.errors import DomainError
from kartosfera.core.money import Currency, Money, format_amount, format_decimal
from kartosfera.customers.identity import mask_phone
from kartosfera.customers.models import Customer
from kartosfera.notifications import gsm7
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.texts import SmsText, sms_bank_name
from kartosfera.secure3d.models import ThreeDSProfile
from kartosfera.secure3d.services import (
    MAX_FAILURES,
    ThreeDSLocked,
    threeds_failure_record,
    threeds_is_locked,
    threeds_pin_check,
)
from kartosfera.users.services import holder_phone

logger = logging.getLogger(__name__)

# Codes a challenge may send, the first included [bank: 3, as for every other code].
MAX_CODE_SENDS = 3
CODE_LENGTH = 6
# transStatusReason of the challenges that end N here (EMV 3DS 2.2, research §6).
REASON_AUTHENTICATION_FAILED = "01"  # the holder cancelled: "card authentication failed"
# No 3DS PIN, or no phone for the code: the holder is not enrolled in the service that could authenticate them.
REASON_NOT_ENROLLED = "13"
CHALLENGE_CANCEL_BY_HOLDER = "01"
# The CReq fields the ACS keeps (EMV 3DS 2.2 CReq for a browser); anything else is not stored.
_CREQ_FIELDS = ("messageType", "messageVersion", "threeDSServerTransID", "acsTransID", "challengeWindowSize")
_SESSION_DATA = re.compile(r"^[A-Za-z0-9_=-]{0,1024}$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


class ChallengeRequestInvalid(DomainError):
    default_message = gettext_lazy("The payment confirmation request is not valid. Return to the shop and try again.")
    code = "challenge_request_invalid"


class ChallengeNotFound(DomainError):
    default_message = gettext_lazy("This payment confirmation does not exist. Return to the shop and try again.")
    code = "challenge_not_found"


class Page(StrEnum):
    """Which page a step shows: the form, or one of the ends (each posts the CRes back to the shop)."""

    FORM = "form"
    AUTHENTICATED = "authenticated"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    LOCKED = "locked"
    NO_PIN = "no_pin"
    NO_PHONE = "no_phone"
    CARD_UNUSABLE = "card_unusable"


@dataclass
class ChallengeStep:
    """What the holder sees next. ``token``: the clear token, for the form only (it is never stored)."""

    record: AuthenticationRecord
    page: Page
    token: str = ""
    error: str = ""
    notice: str = ""
    tries_left: int = MAX_FAILURES
    locked_until: dt.datetime | None = None
    phone: str = ""

    @property
    def ended(self) -> bool:
        return self.page != Page.FORM

    @property
    def codes_left(self) -> int:
        return max(0, MAX_CODE_SENDS - self.record.code_sends)


# --- Messages on the wire ---------------------------------------------------------------


def creq_decode(creq: str) -> dict[str, Any]:
    """The CReq posted by the browser: base64url JSON, with or without padding (EMV says without)."""
    text = (creq or "").strip()
    if not text or len(text) > 8192 or not _BASE64URL.match(text):
        raise ChallengeRequestInvalid()
    try:
        decoded = base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
        message = json.loads(decoded)
    except (binascii.Error, ValueError):
        raise ChallengeRequestInvalid() from None
    if not isinstance(message, dict):
        raise ChallengeRequestInvalid()
    return message


def cres_encode(cres: str) -> str:
    """The final CRes as the ``cres`` form field: base64url of its JSON, without padding."""
    return base64.urlsafe_b64encode(cres.encode()).decode().rstrip("=")


def session_data_clean(value: str | None) -> str:
    """``threeDSSessionData`` as the 3DS server sent it (base64url, at most 1024 characters), to echo back."""
    value = value or ""
    if not _SESSION_DATA.match(value):
        raise ChallengeRequestInvalid()
    return value


def purchase_amount_text(minor: int, currency: str, exponent: int, *, sms: bool = False) -> str:
    """An AReq's amount in the active language: "1 234,56 zł" / "PLN 1,234.56"; ``sms``: "1 234,56 PLN".

    ``currency`` is ISO 4217 numeric. For the currencies the ACS knows, the schema has checked the exponent;
    another currency is named by its numeric code, its number written with the AReq's exponent (a wrong
    number of decimals would show the holder another amount than the one they confirm).
    """
    alpha = NUMERIC_TO_ALPHA.get(currency)
    if alpha in Currency.values:
        return Money(minor, alpha).format(sms=sms)
    if alpha is not None:
        text = format_amount(minor, alpha)
    else:
        number = format_decimal(Decimal(minor).scaleb(-exponent), places=exponent)
        # Named in words: "1 234 152" would read as one number.
        text = _("%(number)s (currency %(code)s)") % {"number": number, "code": currency}
    # GSM-7 has no no-break space.
    return text.replace("\xa0", " ").replace("\u202f", " ") if sms else text


def record_amount_text(record: AuthenticationRecord, *, sms: bool = False) -> str:
    return purchase_amount_text(
        record.purchase_amount_minor, record.purchase_currency, record.purchase_exponent, sms=sms
    )


def record_bank(record: AuthenticationRecord) -> Bank | None:
    """The card's bank: the page and the SMS are in its name."""
    if record.bank_id is None:
        return None
    return Bank.objects.filter(pk=record.bank_id).defer("logo").first()


# --- Digests: the token and the code are never stored in clear -----------------------------


def _token_digest(record: AuthenticationRecord, token: str) -> str:
    return keyed_digest("acs.challenge.token", f"{record.acs_trans_id}:{token}")


def _code_digest(record: AuthenticationRecord, code: str) -> str:
    # Bound to the amount, the currency and the merchant the SMS named (dynamic linking, RTS art. 5(1)(b)): a
    # change to any of them would not match the code.
    linked = f"{record.purchase_amount_minor}:{record.purchase_currency}:{record.merchant_name}"
    return keyed_digest("acs.challenge.code", f"{record.acs_trans_id}:{linked}:{code}")


def _code_matches(record: AuthenticationRecord, code: str) -> bool:
    code = "".join((code or "").split())
    if not record.code_digest or not (code.isascii() and code.isdigit() and len(code) == CODE_LENGTH):
        return False
    return hmac.compare_digest(record.code_digest, _code_digest(record, code))


# --- The SMS --------------------------------------------------------------------------


def payment_code_sms(*, bank: Bank | None, code: str, amount: str, merchant: str) -> SmsText:
    """The code's text, one GSM-7 segment: the merchant's name is shortened when the whole would not fit.

    A 40-character name of Polish letters fits with the largest amount (the template's examples prove it);
    a name full of GSM-7's two-septet characters ({, }, [, ], €...) may not, and loses its tail.
    """
    name = gsm7.transliterate(" ".join(merchant.split()))
    message = SMS_PAYMENT_CODE.render(bank=sms_bank_name(bank), code=code, amount=amount, merchant=name)
    while not gsm7.fits_one_segment(message.text) and len(name) > 1:
        name = name[:-1]
        message = SMS_PAYMENT_CODE.render(
            bank=sms_bank_name(bank), code=code, amount=amount, merchant=f"{name.rstrip()}..."
        )
    return message


def _code_send(record: AuthenticationRecord, *, phone: str) -> None:
    """Make a new code (the previous one stops working), send it, keep its digest, count it, audit it."""
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    bank = record_bank(record)
    record.code_digest = _code_digest(record, code)
    record.code_sends += 1
    message = payment_code_sms(
        bank=bank, code=code, amount=record_amount_text(record, sms=True), merchant=record.merchant_name
    )
    sms_send(to=phone, message=message, purpose="acs.challenge.code", bank=bank)
    audit_record(
        actor=ACS_ACTOR,
        action="acs.challenge.code_sent",
        obj=record,
        customer_id=_customer_of(record).pk,
        bank_id=record.bank_id,
        after={
            "acs_trans_id": str(record.acs_trans_id),
            "sends": record.code_sends,
            "phone": mask_phone(phone),
            "merchant": record.merchant_name,
            "amount_minor": record.purchase_amount_minor,
            "currency": record.purchase_currency,
        },
    )


# --- The steps ------------------------------------------------------------------------


def _customer_of(record: AuthenticationRecord) -> Customer:
    # A challenge is only ever answered for a card of ours (areq_answer): the card and its holder exist.
    assert record.card is not None
    return record.card.customer


def _deliver_after_commit(record: AuthenticationRecord) -> None:
    # EMV: the RReq goes to the directory server (and its RRes comes back) before the final CRes is posted. Once,
    # with a short timeout, while the holder waits; a failure is retried by the task queue and the sweep.
    pk = record.pk
    transaction.on_commit(
        lambda: rreq_deliver(record_id=pk, client=directory_server_client(timeout=SYNCHRONOUS_TIMEOUT)),
        robust=True,
    )


def _end(
    record: AuthenticationRecord,
    *,
    page: Page,
    now: dt.datetime,
    authenticated: bool = False,
    reason: str = "",
    challenge_cancel: str = "",
    locked_until: dt.datetime | None = None,
) -> ChallengeStep:
    ended = challenge_end(
        actor=ACS_ACTOR,
        record=record,
        authenticated=authenticated,
        reason=reason,
        challenge_cancel=challenge_cancel,
        now=now,
    )
    _deliver_after_commit(ended)
    return ChallengeStep(record=ended, page=page, locked_until=locked_until, tries_left=0)


def _timed_out(record: AuthenticationRecord, now: dt.datetime) -> bool:
    return record.expires_at is None or record.expires_at <= now


def _end_if_card_unusable(record: AuthenticationRecord, now: dt.datetime) -> ChallengeStep | None:
    """The card may have been blocked, cancelled or reported since the ARes: then no challenge, N with the reason
    the AReq would have got (decision.UNUSABLE_ANSWERS; a challenge ends N, never R)."""
    assert record.card is not None
    why = card_usability(record.card, now=now).reason
    if why is None:
        return None
    _status, reason = UNUSABLE_ANSWERS[why]
    return _end(record, page=Page.CARD_UNUSABLE, now=now, reason=reason)


def _end_timed_out(record: AuthenticationRecord, now: dt.datetime) -> ChallengeStep:
    cancel = CHALLENGE_CANCEL_TIMED_OUT if record.creq else CHALLENGE_CANCEL_NO_CREQ
    return _end(record, page=Page.TIMED_OUT, now=now, reason=REASON_TIMED_OUT, challenge_cancel=cancel)


def _end_locked(record: AuthenticationRecord, customer: Customer, now: dt.datetime) -> ChallengeStep:
    profile = ThreeDSProfile.objects.get(customer=customer)
    return _end(record, page=Page.LOCKED, now=now, reason=REASON_LOCKED, locked_until=profile.locked_until)


def _tries_left(customer: Customer) -> int:
    profile = ThreeDSProfile.objects.filter(customer=customer).first()
    return MAX_FAILURES - (profile.failed_attempts if profile else 0)


def _pending_locked(acs_trans_id: uuid.UUID, token: str) -> AuthenticationRecord:
    """The pending challenge ``token`` belongs to, locked. A wrong token: ChallengeNotFound; ended: ChallengeClosed."""
    record = AuthenticationRecord.objects.select_for_update().filter(acs_trans_id=acs_trans_id).first()
    if record is None or record.card_id is None:
        raise ChallengeNotFound()
    if record.status != RecordStatus.CHALLENGE_PENDING:
        # The token's digest went with the end: a second click after the end is told so, nothing more.
        raise ChallengeClosed(_("This payment confirmation has already ended. Return to the shop."))
    if not record.challenge_token_digest or not hmac.compare_digest(
        record.challenge_token_digest, _token_digest(record, token or "")
    ):
        raise ChallengeNotFound()
    return record


def challenge_get(*, acs_trans_id: uuid.UUID, token: str) -> ChallengeStep:
    """The form again (the holder's input did not pass the form's checks): only with the challenge's token."""
    with transaction.atomic():
        record = _pending_locked(acs_trans_id, token)
    customer = _customer_of(record)
    return ChallengeStep(
        record=record, page=Page.FORM, token=token, tries_left=_tries_left(customer), phone=_masked_phone(customer)
    )


def _masked_phone(customer: Customer) -> str:
    return mask_phone(holder_phone(customer))


@transaction.atomic
def challenge_begin(*, creq: str, now: dt.datetime | None = None) -> ChallengeStep:
    """The browser brought the CReq: keep it, then end the challenge or send the code and show the form.

    ChallengeRequestInvalid for a CReq that is not one, ChallengeNotFound when no challenge has its ids,
    ChallengeClosed when it has ended; nothing is written then. Posting the CReq again (a reload) makes a
    new token and, while codes are left, a new code.
    """
    now = now or timezone.now()
    message = creq_decode(creq)
    try:
        server_id = uuid.UUID(str(message.get("threeDSServerTransID")))
        acs_id = uuid.UUID(str(message.get("acsTransID")))
    except ValueError:
        raise ChallengeRequestInvalid() from None
    if message.get("messageType") != "CReq":
        raise ChallengeRequestInvalid()
    record = (
        AuthenticationRecord.objects.select_for_update()
        .filter(three_ds_server_trans_id=server_id, acs_trans_id=acs_id)
        .first()
    )
    if record is None or record.card_id is None:
        raise ChallengeNotFound()
    if record.status != RecordStatus.CHALLENGE_PENDING:
        raise ChallengeClosed(_("This payment confirmation has already ended. Return to the shop."))
    record.creq = {key: str(message[key])[:64] for key in _CREQ_FIELDS if key in message}
    record.save(update_fields=["creq"])
    if _timed_out(record, now):
        return _end_timed_out(record, now)
    if (unusable := _end_if_card_unusable(record, now)) is not None:
        return unusable
    customer = _customer_of(record)
    if threeds_is_locked(customer=customer, now=now):
        return _end_locked(record, customer, now)
    profile = ThreeDSProfile.objects.filter(customer=customer).first()
    if profile is None or not profile.has_pin:
        return _end(record, page=Page.NO_PIN, now=now, reason=REASON_NOT_ENROLLED)
    phone = holder_phone(customer)
    if not phone:
        return _end(record, page=Page.NO_PHONE, now=now, reason=REASON_NOT_ENROLLED)
    token = secrets.token_urlsafe(32)
    record.challenge_token_digest = _token_digest(record, token)
    notice = ""
    if record.code_sends < MAX_CODE_SENDS:
        _code_send(record, phone=phone)
    else:
        notice = _("The last code sent is still valid: no more codes can be sent for this payment.")
    record.save(update_fields=["challenge_token_digest", "code_digest", "code_sends"])
    return ChallengeStep(
        record=record,
        page=Page.FORM,
        token=token,
        notice=notice,
        tries_left=MAX_FAILURES - profile.failed_attempts,
        phone=mask_phone(phone),
    )


@transaction.atomic
def challenge_answer(
    *, acs_trans_id: uuid.UUID, token: str, pin: str, code: str, now: dt.datetime | None = None
) -> ChallengeStep:
    """The holder's 3DS PIN and SMS code: both right end the challenge Y; anything else counts one failure.

    The code is checked first and the PIN only with a right code, so the PIN cannot be guessed without the
    phone; the holder is told only that one of the two was wrong. The third failure in a row locks internet
    payments (secure3d) and ends the challenge N 19. The row lock makes two submits of one form run one after
    the other: the second finds the challenge ended (ChallengeClosed).
    """
    now = now or timezone.now()
    record = _pending_locked(acs_trans_id, token)
    if _timed_out(record, now):
        return _end_timed_out(record, now)
    if (unusable := _end_if_card_unusable(record, now)) is not None:
        return unusable
    record.interactions += 1
    record.save(update_fields=["interactions"])
    customer = _customer_of(record)
    if threeds_is_locked(customer=customer, now=now):
        return _end_locked(record, customer, now)
    if not _code_matches(record, code):
        threeds_failure_record(customer=customer, now=now)
    else:
        try:
            pin_right = threeds_pin_check(customer=customer, pin=pin, now=now)
        except ThreeDSLocked:
            return _end_locked(record, customer, now)
        if pin_right:
            return _end(record, page=Page.AUTHENTICATED, now=now, authenticated=True)
    if threeds_is_locked(customer=customer, now=now):
        return _end_locked(record, customer, now)
    left = _tries_left(customer)
    return ChallengeStep(
        record=record,
        page=Page.FORM,
        token=token,
        tries_left=left,
        phone=_masked_phone(customer),
        error=_(
            "The 3-D Secure code or the SMS code is not correct. Tries left before internet payments are locked: "
            "%(left)d."
        )
        % {"left": left},
    )


@transaction.atomic
def challenge_code_resend(*, acs_trans_id: uuid.UUID, token: str, now: dt.datetime | None = None) -> ChallengeStep:
    """Send a new code (the previous one stops working); at most MAX_CODE_SENDS per challenge."""
    now = now or timezone.now()
    record = _pending_locked(acs_trans_id, token)
    if _timed_out(record, now):
        return _end_timed_out(record, now)
    customer = _customer_of(record)
    phone = holder_phone(customer)
    step = ChallengeStep(
        record=record, page=Page.FORM, token=token, tries_left=_tries_left(customer), phone=mask_phone(phone)
    )
    if record.code_sends >= MAX_CODE_SENDS or not phone:
        step.error = _("No more codes can be sent for this payment. Use the last code you received.")
        return step
    _code_send(record, phone=phone)
    record.save(update_fields=["code_digest", "code_sends"])
    step.notice = _("A new code has been sent. The previous one no longer works.")
    return step


@transaction.atomic
def challenge_cancel(*, acs_trans_id: uuid.UUID, token: str, now: dt.datetime | None = None) -> ChallengeStep:
    """The holder gave up: the challenge ends N (challengeCancel 01)."""
    now = now or timezone.now()
    record = _pending_locked(acs_trans_id, token)
    if _timed_out(record, now):
        return _end_timed_out(record, now)
    return _end(
        record,
        page=Page.CANCELLED,
        now=now,
        reason=REASON_AUTHENTICATION_FAILED,
        challenge_cancel=CHALLENGE_CANCEL_BY_HOLDER,
    )


def challenge_expire_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """End every pending challenge past its 5 minutes N 14 (the sweep); returns how many ended.

    challengeCancel 06 when the browser never brought the CReq, 05 when the holder began. Each in its own
    transaction, skipping rows another worker (or the holder's own submit) holds: safe to run twice at once.
    """
    now = now or timezone.now()
    due = list(
        AuthenticationRecord.objects.filter(status=RecordStatus.CHALLENGE_PENDING, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    ended = 0
    for pk in due:
        with transaction.atomic():
            record = AuthenticationRecord.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if record is None or record.status != RecordStatus.CHALLENGE_PENDING or not _timed_out(record, now):
                continue
            cancel = CHALLENGE_CANCEL_TIMED_OUT if record.creq else CHALLENGE_CANCEL_NO_CREQ
            # The RReq is delivered by the sweep's next part (rreq_deliver_due), not while this row is locked.
            challenge_end(
                actor=ACS_ACTOR,
                record=record,
                authenticated=False,
                reason=REASON_TIMED_OUT,
                challenge_cancel=cancel,
                now=now,
            )
            ended += 1
    return ended
