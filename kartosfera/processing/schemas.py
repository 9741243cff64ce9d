"""Request and answer schemas of the card processor's authorization API (docs/processing.md, "The API").

Shapes and storage limits only (types, patterns, lengths, the amount cap); the
rules stay in the services. Unknown fields are refused.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, Field, Strict, StringConstraints

from kartosfera.api.schemas import InputSchema, _storable
from kartosfera.cards.models import last_day_of_month
from kartosfera.core.money import MAX_AMOUNT_MINOR, Currency
from kartosfera.processing.models import Channel

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
    Field(description="1-64 letters, digits, '.', '_', ':' or '-'."),
]
PositiveAmount = Annotated[
    int,
    Strict(),
    Field(ge=1, le=MAX_AMOUNT_MINOR, description="An amount in minor units (grosze, cents), 1 to 10^15."),
]


class CardIn(InputSchema):
    pan: Annotated[str, StringConstraints(pattern=r"^[0-9]{13,19}$")] = Field(
        description="The full card number, digits only. Never stored in clear, logged or returned."
    )
    expiry: Annotated[str, StringConstraints(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")] = Field(
        description="The card's expiry month, YYYY-MM.", examples=["2029-08"]
    )

    def expiry_date(self) -> dt.date:
        year, month = self.expiry.split("-")
        return last_day_of_month(int(year), int(month))


class MerchantIn(InputSchema):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_storable)]
    city: Annotated[str, StringConstraints(max_length=50), AfterValidator(_storable)] = ""
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(description="ISO 3166-1 alpha-2.")
    mcc: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] = Field(description="Merchant category code.")
    id: Annotated[str, StringConstraints(max_length=35), AfterValidator(_storable)] = Field(
        "", description="The acquirer's merchant id."
    )
    terminal_id: Annotated[str, StringConstraints(max_length=16), AfterValidator(_storable)] = ""


class ThreeDSIn(InputSchema):
    eci: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")] = Field(
        description="Electronic commerce indicator: Visa 05/06/07, Mastercard 02/01/00."
    )
    authentication_value: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/=]{0,64}$")] = Field(
        "", description="CAVV (Visa) or AAV (Mastercard), base64."
    )
    ds_transaction_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{0,64}$")] = ""


class AuthorizationIn(InputSchema):
    id: Identifier = Field(description="The processor's authorization id: a retry sends the same id and body.")
    network_transaction_id: Identifier = Field(
        description="Visa Transaction ID / Mastercard Banknet reference: the key of reversals and clearing."
    )
    card: CardIn
    amount_minor: PositiveAmount
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 4217 code of the transaction."
    )
    billing_amount_minor: PositiveAmount | None = Field(
        None, description="The amount in the account's currency, when the scheme converted it."
    )
    billing_currency: Currency | None = None
    billing_rate: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=9)] | None = None
    merchant: MerchantIn
    channel: Channel = Field(description="How the card was used (and the PIN entry, by pin_block).")
    partial_approval_supported: Annotated[bool, Strict()] = False
    three_ds: ThreeDSIn | None = None
    pin_block: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{32}$")] | None = Field(
        None, description="ISO 9564 format 4 PIN block (AES), hex, when a PIN was entered."
    )
    token_reference: Identifier | None = Field(
        None,
        description=(
            "The wallet token the payment was made with (channel wallet): the token service provider's reference. "
            "A token that is not the card's active one is declined (token_suspended, token_not_usable)."
        ),
    )
    sca_exemption: Literal["low_value", "trusted_beneficiary", "merchant_initiated", "tra"] | None = Field(
        None,
        description=(
            "The PSD2 exemption the acquirer claims for an internet payment without 3-D Secure: low_value "
            "(RTS art. 16, within the card's counter), trusted_beneficiary (art. 13, a merchant on the customer's "
            "list), merchant_initiated (outside SCA), tra (the acquirer's risk analysis, art. 18, up to EUR 500). "
            "Only with channel ecommerce."
        ),
    )


class DeclineMessage(Schema):
    pl: str
    en: str


class AuthorizationOut(Schema):
    id: str
    approved: bool
    response_code: str = Field(description="ISO 8583 field 39.")
    approved_amount_minor: int = Field(description="In the transaction currency; less than asked when partial.")
    currency: str
    authorization_code: str | None = Field(description="6 characters, for an approval.")
    decline_reason: str | None = Field(description="A stable code (docs/processing.md), for a decline.")
    decline_message: DeclineMessage | None
    merchant_advice_code: str | None = Field(description="Mastercard's merchant advice code (DE 48 SE 84).")


class ReversalIn(InputSchema):
    id: Identifier = Field(description="The processor's reversal id: a retry sends the same id and body.")
    amount_minor: PositiveAmount | None = Field(
        None, description="The amount reversed, in the transaction currency; left out: everything still held."
    )
    billing_amount_minor: PositiveAmount | None = Field(
        None, description="The amount reversed in the account's currency, when the scheme converted it."
    )


class IncrementIn(InputSchema):
    id: Identifier = Field(description="The processor's increment id: a retry sends the same id and body.")
    amount_minor: PositiveAmount = Field(description="The amount added, in the transaction currency.")
    billing_amount_minor: PositiveAmount | None = Field(
        None, description="The amount added in the account's currency, when the scheme converted it."
    )


class AdjustmentOut(Schema):
    id: str
    authorization_id: str
    kind: str = Field(description="reversal or increment")
    approved: bool
    response_code: str
    amount_minor: int = Field(
        description="What a reversal released or an increment added, in the account's currency (0 when declined)."
    )
    currency: str
    decline_reason: str | None
    decline_message: DeclineMessage | None
    merchant_advice_code: str | None


class SchemeDecisionIn(InputSchema):
    approved: Annotated[bool, Strict()]
    response_code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2}$")] = Field(
        description="The scheme's ISO 8583 field 39."
    )
    authorization_code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{0,6}$")] = ""


class AdviceIn(AuthorizationIn):
    decision: SchemeDecisionIn = Field(description="What the scheme decided in stand-in (never re-decided).")


class AdviceOut(Schema):
    id: str
    acknowledged: bool
    needs_review: bool


def _iso_date_text(value: object) -> object:
    # A date only as its ISO text: pydantic's lax mode would read a number as seconds since 1970.
    if not isinstance(value, dt.date) and not (
        isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value)
    ):
        raise ValueError("Input should be a date as YYYY-MM-DD")
    return value


class ClearingCardIn(CardIn):
    """The card, for a record without an authorization (a force post, a refund): found by its keyed fingerprint."""


class ClearingRecordIn(InputSchema):
    id: Identifier = Field(
        description="The clearing record's id: a re-sent record is skipped, another body is a conflict."
    )
    kind: Literal["clearing", "refund", "chargeback", "clearing_reversal"] = Field(
        description=(
            "clearing: a purchase or capture (a force post without an authorization); refund: a return; "
            "chargeback: the bank won a dispute, the money goes back to the cardholder; clearing_reversal: the "
            "acquirer takes back a posting (a duplicate presentment). The last two name their original posting "
            "(original_record_id, else network_transaction_id) and never give back more than it took."
        )
    )
    network_transaction_id: Identifier | None = Field(
        None,
        description=(
            "Matches the record to its authorization (Visa Transaction ID / Banknet reference); for a chargeback or "
            "a clearing reversal without original_record_id, the latest posting with this id is the original."
        ),
    )
    original_record_id: Identifier | None = Field(
        None, description="A chargeback's or a clearing reversal's original: the id of the record it gives back."
    )
    channel: Channel | None = Field(
        None,
        description=(
            "How the card was used. A force post counts in this channel's daily limits (ecommerce: the internet "
            "limit too); without it, in the cash limit for MCC 6010/6011, else the non-cash limit."
        ),
    )
    card: ClearingCardIn | None = Field(
        None, description="Needed when no authorization matches (a force post, a refund without one)."
    )
    amount_minor: PositiveAmount = Field(description="The cleared amount, in the transaction currency.")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(description="ISO 4217.")
    billing_amount_minor: PositiveAmount | None = Field(
        None, description="The amount in the account's currency, when the scheme converted it."
    )
    billing_currency: Currency | None = None
    billing_rate: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=9)] | None = None
    settlement_amount_minor: PositiveAmount | None = None
    settlement_currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    acquirer_reference_number: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{0,23}$")] = ""
    merchant: MerchantIn | None = None
    processing_date: Annotated[dt.date, BeforeValidator(_iso_date_text)] = Field(
        description="The scheme's processing date, YYYY-MM-DD.", examples=["2026-11-30"]
    )
    final: Annotated[bool, Strict()] = Field(
        True, description="false for a partial shipment: only the cleared amount leaves the hold, the rest stays."
    )


class ClearingBatchIn(InputSchema):
    records: list[ClearingRecordIn] = Field(min_length=1, max_length=500)


class ClearingRecordOut(Schema):
    id: str
    outcome: str = Field(description="posted, duplicate (seen before: skipped), conflict, or rejected.")
    kind: str | None = Field(
        description="clearing, force_post, refund, chargeback or clearing_reversal (posted or duplicate)."
    )
    authorization_id: str | None
    billing_amount_minor: int | None
    billing_currency: str | None
    needs_review: bool
    error_code: str | None
    error_message: str | None


class ClearingBatchOut(Schema):
    records: list[ClearingRecordOut]
