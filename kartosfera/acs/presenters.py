"""The 3-D Secure authentications in words: the result and the amount, for every page and trail that shows one.

One function says what an authentication's result was (``authentication_result``): the holder's list and
detail, the card history's link, the back office and the audit trails (acs/audit_actions.py) all read it, so
a result reads the same everywhere. It takes the stored fields, not the record, because an audit row keeps
the same fields (services.py ``_audit_after``) and must read the same as the record did then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.functional import Promise
from django.utils.translation import pgettext, pgettext_lazy

from kartosfera.acs.currencies import EXPONENTS, NUMERIC_TO_ALPHA
from kartosfera.acs.models import AuthenticationRecord, Exemption, RecordStatus, TransStatus
from kartosfera.cards.usability import Unusable
from kartosfera.core.money import format_amount

if TYPE_CHECKING:
    from kartosfera.processing.models import Authorization


class Outcome:
    """The five results a person can tell apart (the badge's class on the pages)."""

    CONFIRMED = "confirmed"
    EXEMPT = "exempt"
    PENDING = "pending"
    NOT_CONFIRMED = "not_confirmed"
    REFUSED = "refused"


OUTCOME_WORDS: dict[str, Promise] = {
    Outcome.CONFIRMED: pgettext_lazy("3-D Secure result", "Confirmed with the 3-D Secure PIN and SMS code"),
    Outcome.EXEMPT: pgettext_lazy("3-D Secure result", "Without confirmation"),
    Outcome.PENDING: pgettext_lazy("3-D Secure result", "Waiting for confirmation"),
    Outcome.NOT_CONFIRMED: pgettext_lazy("3-D Secure result", "Not confirmed"),
    Outcome.REFUSED: pgettext_lazy("3-D Secure result", "Refused"),
}

# The decision rules (acs/decision.py) that ask the holder to confirm: the answer was C.
CHALLENGE_RULES = frozenset({"challenge", "challenge_requested", "no_threeds_pin"})
RULE_INTERNET_LOCKED = "internet_payments_locked"

_EXEMPTIONS: dict[str, Promise] = {
    Exemption.LOW_VALUE: pgettext_lazy("3-D Secure result", "low-value payment"),
    Exemption.TRUSTED_MERCHANT: pgettext_lazy("3-D Secure result", "trusted merchant"),
}

# Why an authentication was refused at once, by the rule that answered (no confirmation was asked for).
_REFUSALS: dict[str, Promise] = {
    "card_unknown": pgettext_lazy("3-D Secure result", "no card with this number"),
    Unusable.EXPIRED: pgettext_lazy("3-D Secure result", "the card has expired"),
    Unusable.NOT_ACTIVATED: pgettext_lazy("3-D Secure result", "the card is not activated"),
    Unusable.BLOCKED_BY_HOLDER: pgettext_lazy("3-D Secure result", "the card is blocked"),
    Unusable.BLOCKED_BY_BANK: pgettext_lazy("3-D Secure result", "the card is blocked by the bank"),
    Unusable.CANCELLED: pgettext_lazy("3-D Secure result", "the card is cancelled"),
    Unusable.LOST: pgettext_lazy("3-D Secure result", "the card is reported lost"),
    Unusable.STOLEN: pgettext_lazy("3-D Secure result", "the card is reported stolen"),
    "not_payment": pgettext_lazy("3-D Secure result", "not a payment"),
    "app_channel_unsupported": pgettext_lazy("3-D Secure result", "payments in a shop's app are not supported yet"),
    "3ri_channel_unsupported": pgettext_lazy(
        "3-D Secure result", "payments a merchant starts on its own are not supported yet"
    ),
}

# Why a confirmation did not succeed (EMV 3DS transStatusReason and challengeCancel; acs/services.py).
_CANCELLED = pgettext_lazy("3-D Secure result", "cancelled")
_TIMED_OUT = pgettext_lazy("3-D Secure result", "timed out")
_LOCKED = pgettext_lazy("3-D Secure result", "internet payments locked")
_LOCKED_NOW = pgettext_lazy("3-D Secure result", "wrong PIN or code; internet payments are now locked")
_NO_PIN = pgettext_lazy("3-D Secure result", "no 3-D Secure PIN set")
_WRONG = pgettext_lazy("3-D Secure result", "wrong PIN or code")
_OTHER = pgettext_lazy("3-D Secure result", "not authenticated")

REASON_TIMED_OUT = "14"
REASON_LOCKED = "19"
CANCEL_BY_HOLDER = "01"


@dataclass(frozen=True)
class AuthenticationResult:
    outcome: str
    # Why, in words ("" when the outcome says it all: confirmed, waiting).
    reason: str

    @property
    def label(self) -> str:
        return str(OUTCOME_WORDS[self.outcome])

    @property
    def text(self) -> str:
        """The result in one phrase: "Not confirmed: timed out"."""
        if not self.reason:
            return self.label
        return pgettext("3-D Secure result", "%(outcome)s: %(reason)s") % {"outcome": self.label, "reason": self.reason}


def _not_confirmed(*, reason: str, rule: str, status: str, challenge_cancel: str) -> AuthenticationResult:
    if challenge_cancel == CANCEL_BY_HOLDER:
        why = _CANCELLED
    elif status == RecordStatus.TIMED_OUT or reason == REASON_TIMED_OUT:
        why = _TIMED_OUT
    elif reason == REASON_LOCKED:
        why = _LOCKED_NOW
    elif rule == "no_threeds_pin":
        why = _NO_PIN
    else:
        why = _WRONG
    return AuthenticationResult(Outcome.NOT_CONFIRMED, str(why))


def authentication_result(
    *,
    trans_status: str,
    reason: str = "",
    rule: str = "",
    exemption: str = "",
    status: str = "",
    challenge_cancel: str = "",
) -> AuthenticationResult:
    """What became of an authentication, from its stored fields (a record's or an audit row's).

    ``status`` is the record's (RecordStatus; "" for an audit row, where the transStatus says it);
    ``challenge_cancel`` the RReq's challengeCancel ("01": the holder cancelled).
    """
    if status == RecordStatus.CHALLENGE_PENDING or trans_status == TransStatus.CHALLENGE:
        return AuthenticationResult(Outcome.PENDING, "")
    challenged = rule in CHALLENGE_RULES
    if trans_status == TransStatus.AUTHENTICATED:
        if challenged or not exemption:
            return AuthenticationResult(Outcome.CONFIRMED, "")
        return AuthenticationResult(Outcome.EXEMPT, str(_EXEMPTIONS.get(exemption, "")))
    if challenged:
        return _not_confirmed(reason=reason, rule=rule, status=status, challenge_cancel=challenge_cancel)
    if rule == RULE_INTERNET_LOCKED:
        return AuthenticationResult(Outcome.NOT_CONFIRMED, str(_LOCKED))
    refusal = _REFUSALS.get(rule)
    if refusal is None:
        outcome = Outcome.REFUSED if trans_status == TransStatus.REJECTED else Outcome.NOT_CONFIRMED
        return AuthenticationResult(outcome, str(_OTHER))
    return AuthenticationResult(Outcome.REFUSED, str(refusal))


def challenge_cancel_of(record: AuthenticationRecord) -> str:
    """The RReq's challengeCancel ("" when none was sent, or no RReq yet)."""
    if not record.rreq:
        return ""
    try:
        rreq = json.loads(record.rreq)
    except ValueError:
        return ""
    return str(rreq.get("challengeCancel") or "") if isinstance(rreq, dict) else ""


def record_result(record: AuthenticationRecord) -> AuthenticationResult:
    """The result of a stored authentication (see ``authentication_result``)."""
    return authentication_result(
        trans_status=record.trans_status,
        reason=record.trans_status_reason,
        rule=record.decision_rule,
        exemption=record.exemption,
        status=record.status,
        challenge_cancel=challenge_cancel_of(record),
    )


def authentication_amount(minor: int, currency: str, exponent: int | None = None) -> str:
    """The purchase amount as the reader's language writes it: "50,00 zł", "12,50 USD"; ``currency`` ISO 4217 numeric.

    A currency the ACS does not know by name keeps its numeric code and the exponent the AReq gave.
    """
    alpha = NUMERIC_TO_ALPHA.get(currency)
    if alpha is not None:
        return format_amount(minor, alpha)
    return format_amount(minor, currency, exponent=exponent if exponent is not None else EXPONENTS.get(currency, 2))


def record_amount(record: AuthenticationRecord) -> str:
    return authentication_amount(record.purchase_amount_minor, record.purchase_currency, record.purchase_exponent)


@dataclass(frozen=True)
class AuthenticationRow:
    """One authentication ready to show: the record (its ``authorization`` joined), its result and amount."""

    record: AuthenticationRecord
    result: AuthenticationResult
    amount: str

    @property
    def used(self) -> bool:
        """Whether a payment used it (the card core marked its value used)."""
        return self.record.status == RecordStatus.USED

    @property
    def payment(self) -> Authorization | None:
        """The payment it authorized (joined by the selectors: no query), or None."""
        return getattr(self.record, "authorization", None)

    @property
    def payment_amount(self) -> str:
        payment = self.payment
        return format_amount(payment.amount_minor, payment.currency) if payment is not None else ""


def authentication_row(record: AuthenticationRecord) -> AuthenticationRow:
    return AuthenticationRow(record=record, result=record_result(record), amount=record_amount(record))


def authentication_rows(records: list[AuthenticationRecord]) -> list[AuthenticationRow]:
    return [authentication_row(record) for record in records]
