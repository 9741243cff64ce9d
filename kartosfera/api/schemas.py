"""Request and response schemas of the provisioning API.

The schemas check shape and storage limits only (types, lengths, the amount cap,
no NUL characters that PostgreSQL cannot store); every business rule (PESEL
checksum, Luhn, limits, credit terms, date ranges) stays in the services, whose
``ValidationFailed`` comes back with the same field names. A field that may be
left out of a PATCH but never cleared is declared without ``null``: the schema
says exactly what the server takes.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db import models
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.accounts.services import balance_not_settable_message
from kartosfera.api.acting_bank import request_bank
from kartosfera.cards.controls import ControlKind, product_terms
from kartosfera.cards.credit_terms import credit_terms_view
from kartosfera.cards.models import Brand, Card, CardProduct, CreditTerms, Funding, Segment
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.dates import EARLIEST_DATE
from kartosfera.core.money import MAX_AMOUNT_MINOR, Currency
from kartosfera.customers.models import BankMembership, Customer, Residency
from kartosfera.processing.ledger import DESCRIPTION_MAX_LENGTH, DIRECTION_OF_KIND
from kartosfera.processing.models import Posting, PostingKind

SMALLINT_MAX = 32767
# References and codes appear in URL paths: letters, digits and . _ : - only.
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
PRODUCT_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,31}$"


def _max_length(model: type[models.Model], field: str) -> int:
    model_field = model._meta.get_field(field)
    assert isinstance(model_field, models.CharField) and model_field.max_length is not None
    return model_field.max_length


def _storable(value: str) -> str:
    # PostgreSQL refuses NUL in text and lone surrogates cannot be encoded: both
    # would otherwise surface as a database error (a 500) instead of a 422.
    if "\x00" in value:
        raise ValueError(_("Text must not contain NUL characters."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_("Text must be valid Unicode.")) from None
    return value


Reference = Annotated[
    str,
    StringConstraints(pattern=REFERENCE_PATTERN),
    Field(description="The bank's own identifier: 1-64 letters, digits, '.', '_', ':' or '-'."),
]
ProductCode = Annotated[
    str,
    StringConstraints(pattern=PRODUCT_CODE_PATTERN),
    Field(description="The product's code: 1-32 letters, digits, '.', '_', ':' or '-'."),
]
PersonName = Annotated[
    str, StringConstraints(max_length=_max_length(Customer, "first_name")), AfterValidator(_storable)
]
ProductName = Annotated[str, StringConstraints(max_length=_max_length(CardProduct, "name")), AfterValidator(_storable)]
# Loose lengths where the services normalise first (strip spaces, compact) and then check.
PeselText = Annotated[str, StringConstraints(max_length=32), AfterValidator(_storable)]
NonresidentId = Annotated[
    str, StringConstraints(max_length=_max_length(Customer, "nonresident_id")), AfterValidator(_storable)
]
PhoneText = Annotated[str, StringConstraints(max_length=32), AfterValidator(_storable)]
IbanText = Annotated[str, StringConstraints(max_length=_max_length(Account, "iban")), AfterValidator(_storable)]
PanText = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(_storable),
    Field(description="The full card number. Never returned by any endpoint."),
]
EmbossedName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_storable)]
# Amounts are capped (core/money.py: MAX_AMOUNT_MINOR) so that every sum of them fits 64 bits.
SignedAmount = Annotated[
    int,
    Strict(),
    Field(
        ge=-MAX_AMOUNT_MINOR,
        le=MAX_AMOUNT_MINOR,
        description="An amount in minor units (grosze, cents), at most 10^15 either side of zero.",
    ),
]
Amount = Annotated[
    int,
    Strict(),
    Field(ge=0, le=MAX_AMOUNT_MINOR, description="An amount in minor units (grosze, cents), 0 to 10^15."),
]
SmallInt = Annotated[int, Strict(), Field(ge=0, le=SMALLINT_MAX)]


BIRTH_DATE_DESCRIPTION = "From 1900-01-01 to today."
EXPIRY_DESCRIPTION = (
    "Any day of the expiry month; the card is valid to its end. At most 10 years (120 months) after the issue."
)


class InputSchema(BaseModel):
    """Unknown fields are refused: a misspelt field must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError(_("This field cannot be null."))
    return value


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def not_sent() -> Any:
    """A PATCH field that may be left out but is never null: no ``null`` and no default in the schema."""
    return Field(None, json_schema_extra=_without_default)


# --- Errors -------------------------------------------------------------------------


class FieldError(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    code: str
    errors: list[FieldError]


# --- Customers ------------------------------------------------------------------------


class CustomerCreateIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reference": "CIF-000124",
                    "residency": "resident",
                    "first_name": "Jan",
                    "last_name": "Kowalski",
                    "pesel": "85031400717",
                    "phone_on_file": "+48 600 100 201",
                }
            ]
        }
    )

    reference: Reference
    residency: Residency
    first_name: PersonName
    last_name: PersonName
    pesel: PeselText | None = Field(None, description="Required for residents; refused for non-residents.")
    nonresident_id: NonresidentId | None = Field(None, description="The bank's number for a non-resident.")
    birth_date: dt.date | None = Field(
        None, description="Taken from the PESEL for residents. " + BIRTH_DATE_DESCRIPTION
    )
    phone_on_file: PhoneText | None = Field(None, description="E.164, or a Polish number without +48.")


class CustomerUpdateIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"last_name": "Kowalska", "phone_on_file": "601222333"}]})

    first_name: PersonName = not_sent()
    last_name: PersonName = not_sent()
    phone_on_file: PhoneText | None = Field(None, description="null removes the phone number on file.")
    nonresident_id: NonresidentId | None = None
    birth_date: dt.date | None = Field(None, description=BIRTH_DATE_DESCRIPTION)

    @field_validator("first_name", "last_name", mode="before")
    @classmethod
    def reject_null(cls, value: Any) -> Any:
        return _not_null(value)


def _acting_membership(customer: Customer, context: Any) -> BankMembership:
    # The acting bank's view of the person: its own number and when it made the person its customer.
    # Looked up once per answer (reference, created_at and updated_at all read it).
    bank = request_bank(context["request"])
    cache: dict[int, BankMembership] = customer.__dict__.setdefault("_api_memberships", {})
    if bank.pk not in cache:
        membership = BankMembership.objects.get(customer=customer, bank=bank)
        membership.customer = customer  # reported_value() falls back to the person: no second query
        cache[bank.pk] = membership
    return cache[bank.pk]


def customer_number(customer: Customer, bank_id: int) -> str:
    """The number ``bank_id``'s bank knows ``customer`` by (what every answer calls the customer's reference)."""
    return (
        BankMembership.objects.filter(customer=customer, bank_id=bank_id)
        .values_list("customer_number", flat=True)
        .first()
        or ""
    )


class CustomerOut(Schema):
    reference: str = Field(description="The bank's own number of the customer (each bank knows a person by its own).")
    residency: Residency
    pesel: str | None
    nonresident_id: str | None
    first_name: str
    last_name: str
    birth_date: dt.date | None
    phone_on_file: str | None
    created_at: dt.datetime = Field(description="When the person became the bank's customer.")
    updated_at: dt.datetime

    @staticmethod
    def resolve_reference(obj: Customer, context: Any) -> str:
        return _acting_membership(obj, context).customer_number

    @staticmethod
    def resolve_created_at(obj: Customer, context: Any) -> dt.datetime:
        return _acting_membership(obj, context).created_at

    @staticmethod
    def resolve_updated_at(obj: Customer, context: Any) -> dt.datetime:
        # The bank's own view changes only when the bank changes it: another bank's update shows nowhere.
        return _acting_membership(obj, context).updated_at

    # What the acting bank itself reported of the person (BankMembership.reported): a bank that did
    # not send a phone number or a birth date never reads another bank's (Prawo bankowe art. 104).
    @staticmethod
    def resolve_first_name(obj: Customer, context: Any) -> object:
        return _acting_membership(obj, context).reported_value("first_name")

    @staticmethod
    def resolve_last_name(obj: Customer, context: Any) -> object:
        return _acting_membership(obj, context).reported_value("last_name")

    @staticmethod
    def resolve_phone_on_file(obj: Customer, context: Any) -> object:
        return _acting_membership(obj, context).reported_value("phone_on_file")

    @staticmethod
    def resolve_nonresident_id(obj: Customer, context: Any) -> object:
        return _acting_membership(obj, context).reported_value("nonresident_id")

    @staticmethod
    def resolve_birth_date(obj: Customer, context: Any) -> object:
        return _acting_membership(obj, context).reported_value("birth_date")


# --- Accounts -------------------------------------------------------------------------


class AccountCreateIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reference": "ACC-000988",
                    "customer": "CIF-000123",
                    "kind": "credit",
                    "balance_minor": -120000,
                    "credit_limit_minor": 1000000,
                    "billing_day": 10,
                }
            ]
        }
    )

    reference: Reference
    customer: Reference = Field(description="The owner's customer reference.")
    kind: AccountKind
    currency: Currency = Currency.PLN
    iban: IbanText = ""
    balance_minor: SignedAmount = 0
    credit_limit_minor: Amount | None = Field(None, description="Credit accounts only.")
    billing_day: SmallInt | None = Field(None, description="Credit accounts only: 1-28.")


class AccountUpdateIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"credit_limit_minor": 1500000}]})

    credit_limit_minor: Amount | None = None
    billing_day: SmallInt | None = None
    iban: IbanText = not_sent()
    # Not offered (left out of the schema), but named when sent: the balance moves only by postings
    # (docs/decisions/0013), and a client that still sends it gets a message saying where to go.
    balance_minor: SkipJsonSchema[Any] = None

    @field_validator("iban", mode="before")
    @classmethod
    def reject_null(cls, value: Any) -> Any:
        return _not_null(value)

    @field_validator("balance_minor", mode="before")
    @classmethod
    def refuse_balance(cls, value: Any) -> Any:
        raise ValueError(balance_not_settable_message())


BANK_DESCRIPTION = "The code of the bank it belongs to."


class AccountOut(Schema):
    reference: str
    bank: str = Field(description=BANK_DESCRIPTION)
    customer: str = Field(description="The owner's reference: the bank's own customer number.")
    kind: AccountKind
    currency: Currency
    iban: str
    balance_minor: int
    opening_balance_minor: int = Field(
        description="The balance the account was opened with. Since then only postings move the balance: "
        "balance = opening balance + the sum of the account's postings."
    )
    credit_limit_minor: int | None
    available_funds_minor: int = Field(
        ge=-MAX_AMOUNT_MINOR,
        le=2 * MAX_AMOUNT_MINOR,
        description="Balance plus credit limit: what payments may use. Always fits a signed 64-bit integer.",
    )
    billing_day: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_bank(obj: Account) -> str:
        return obj.bank.code

    @staticmethod
    def resolve_customer(obj: Account) -> str:
        return customer_number(obj.customer, obj.bank_id)

    @staticmethod
    def resolve_available_funds_minor(obj: Account) -> int:
        return obj.available_funds.minor


# --- Card products --------------------------------------------------------------------


# A percentage as a decimal string (no float rounding), e.g. "18.50": 0 to 999.99, at most 2 places; the
# service checks each term's own range (cards/credit_terms.py) and answers 422 with the rule.
PERCENT_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,2})?$"


def _percent_text(value: Any) -> Decimal:
    if not isinstance(value, str) or not re.fullmatch(PERCENT_PATTERN, value):
        raise ValueError(_('A percentage as text, e.g. "18.50": at most 3 digits before the point and 2 after.'))
    return Decimal(value)


PercentText = Annotated[
    Decimal,
    BeforeValidator(_percent_text),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": PERCENT_PATTERN,
            "description": "A percentage as a decimal string, at most 2 decimal places.",
            "examples": ["18.50"],
        }
    ),
]


class CreditTermsIn(InputSchema):
    """A credit product's billing terms (docs/statements.md, "Billing terms")."""

    interest_rate_percent: PercentText = Field(
        description="Annual interest rate in percent: at most the legal maximum, twice the sum of the NBP "
        "reference rate and 3.5 percentage points (Kodeks cywilny art. 359 § 2¹)."
    )
    grace_period_days: SmallInt = Field(description="Days from the statement date to the due date: 0 to 60.")
    minimum_payment_percent: PercentText = Field(
        description="The minimum payment as a percentage of the closing balance: above 0, at most 100."
    )
    minimum_payment_minor: Amount = Field(
        description="The minimum payment is at least this (minor units of the product's currency), or the whole "
        "balance when that is lower."
    )
    cash_withdrawal_fee_percent: PercentText = Field(
        description="Cash withdrawal fee, a percentage of the amount withdrawn: 0 to 100."
    )
    cash_withdrawal_fee_min_minor: Amount = Field(description="The cash withdrawal fee is at least this.")
    fx_markup_percent: PercentText = Field(
        description="Currency conversion fee, a percentage of a converted payment's amount: 0 to 100."
    )


class CreditTermsUpdateIn(InputSchema):
    """Any of the terms; those left out stay as they are."""

    interest_rate_percent: PercentText = not_sent()
    grace_period_days: SmallInt = not_sent()
    minimum_payment_percent: PercentText = not_sent()
    minimum_payment_minor: Amount = not_sent()
    cash_withdrawal_fee_percent: PercentText = not_sent()
    cash_withdrawal_fee_min_minor: Amount = not_sent()
    fx_markup_percent: PercentText = not_sent()

    @field_validator("*", mode="before")
    @classmethod
    def reject_null(cls, value: Any) -> Any:
        return _not_null(value)


class CreditTermsOut(Schema):
    interest_rate_percent: str
    grace_period_days: int
    minimum_payment_percent: str
    minimum_payment_minor: int
    cash_withdrawal_fee_percent: str
    cash_withdrawal_fee_min_minor: int
    fx_markup_percent: str


class CardProductCreateIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "VISA-GOLD",
                    "name": "Visa Gold",
                    "brand": "visa",
                    "funding": "debit",
                    "segment": "individual",
                    "cash_limit_max_minor": 1000000,
                    "noncash_limit_max_minor": 3000000,
                    "internet_limit_max_minor": 3000000,
                    "cash_limit_default_minor": 200000,
                    "noncash_limit_default_minor": 500000,
                }
            ]
        }
    )

    code: ProductCode
    name: ProductName
    brand: Brand
    funding: Funding
    segment: Segment
    contactless_capable: Annotated[bool, Strict()] = True
    currency: Currency = Currency.PLN
    validity_months: SmallInt = 48
    cash_limit_max_minor: Amount
    noncash_limit_max_minor: Amount
    internet_limit_max_minor: Amount
    cash_limit_default_minor: Amount
    noncash_limit_default_minor: Amount
    internet_limit_default_minor: Amount = 0
    credit_terms: CreditTermsIn | None = Field(
        None, description="A credit product's billing terms; a debit product has none (422 when sent)."
    )


class CardProductUpdateIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"cash_limit_max_minor": 800000}]})

    name: ProductName = not_sent()
    contactless_capable: Annotated[bool, Strict()] = not_sent()
    validity_months: SmallInt = not_sent()
    cash_limit_max_minor: Amount = not_sent()
    noncash_limit_max_minor: Amount = not_sent()
    internet_limit_max_minor: Amount = not_sent()
    cash_limit_default_minor: Amount = not_sent()
    noncash_limit_default_minor: Amount = not_sent()
    internet_limit_default_minor: Amount = not_sent()
    credit_terms: CreditTermsUpdateIn = not_sent()

    @field_validator("*", mode="before")
    @classmethod
    def reject_null(cls, value: Any) -> Any:
        return _not_null(value)


class ProductControlOut(Schema):
    name: str = Field(description="The control's name, as in a card's `controls`.")
    kind: ControlKind
    max_minor: int | None = Field(description="An amount limit's maximum; null for a switch.")
    default_minor: int | None = Field(description="An amount limit's value on a new card; null for a switch.")
    available: bool | None = Field(description="A switch: whether the product's cards can have it; else null.")


def product_controls_out(product: CardProduct) -> list[dict[str, Any]]:
    """The product's side of every control in the registry: maxima and defaults, then which switches it allows."""
    return [
        {
            "name": term.name,
            "kind": term.definition.kind,
            "max_minor": term.max_minor,
            "default_minor": term.default_minor,
            "available": term.available,
        }
        for term in product_terms(product)
    ]


class CardProductOut(Schema):
    code: str
    bank: str = Field(description=BANK_DESCRIPTION)
    name: str
    brand: Brand
    funding: Funding
    segment: Segment
    contactless_capable: bool
    currency: Currency
    validity_months: int
    cash_limit_max_minor: int
    noncash_limit_max_minor: int
    internet_limit_max_minor: int
    cash_limit_default_minor: int
    noncash_limit_default_minor: int
    internet_limit_default_minor: int
    controls: list[ProductControlOut] = Field(
        description="The product's side of every control, from the one registry of controls: each daily limit's "
        "maximum and default, then which switches its cards can have. The flat fields above stay for compatibility."
    )
    credit_terms: CreditTermsOut | None = Field(
        description="A credit product's billing terms; null for a debit product (and for a credit product whose "
        "terms are not provisioned yet)."
    )
    created_at: dt.datetime

    @staticmethod
    def resolve_bank(obj: CardProduct) -> str:
        return obj.bank.code

    @staticmethod
    def resolve_credit_terms(obj: CardProduct) -> dict[str, Any] | None:
        try:
            terms = obj.credit_terms
        except CreditTerms.DoesNotExist:
            return None
        return credit_terms_view(terms)

    @staticmethod
    def resolve_controls(obj: CardProduct) -> list[dict[str, Any]]:
        return product_controls_out(obj)

    updated_at: dt.datetime


# --- Cards ----------------------------------------------------------------------------


class CardIssueIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reference": "CARD-000777",
                    "product": "VISA-DEBIT",
                    "account": "ACC-000987",
                    "customer": "CIF-000123",
                    "pan": "4000 0000 0777 0003",
                    "embossed_name": "Anna Nowak",
                }
            ]
        }
    )

    reference: Reference
    product: ProductCode = Field(description="The card product's code.")
    account: Reference = Field(description="The reference of the account the card draws on.")
    customer: Reference = Field(description="The cardholder's customer reference.")
    pan: PanText
    embossed_name: EmbossedName
    expiry: dt.date | None = Field(None, description=EXPIRY_DESCRIPTION + " Default: the product's validity.")
    issued_on: dt.date | None = Field(
        None,
        description="When the bank issued the card, for cards issued before provisioning: from 1900-01-01 to today. "
        "Default: today.",
    )


class CardRenewIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reference": "CARD-000556"}]})

    reference: Reference = Field(description="The reference of the new (renewal) card.")
    pan: PanText | None = Field(None, description="Omit to keep the card number.")
    expiry: dt.date | None = Field(
        None,
        description=EXPIRY_DESCRIPTION + " Default: the old expiry plus the product's validity, within that bound.",
    )


class CardReplaceIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reference": "CARD-000557", "pan": "4000000006543211"}]})

    reference: Reference = Field(description="The reference of the new (replacement) card.")
    pan: PanText = Field(description="The replacement's new card number.")
    expiry: dt.date | None = Field(None, description=EXPIRY_DESCRIPTION + " Default: the product's validity.")


class CardControlOut(Schema):
    name: str = Field(description="The control's name, e.g. `cash`, `internet`, `contactless`.")
    kind: ControlKind = Field(
        description="`amount_limit`: a daily amount; `switch`: on or off; `count_limit`: payments a day."
    )
    value_minor: int | None = Field(description="An amount limit's daily value in minor units; null for a switch.")
    max_minor: int | None = Field(description="An amount limit's maximum (the product's); null for a switch.")
    enabled: bool | None = Field(
        description="A switch: on and allowed by the product (what payments obey); null for an amount limit."
    )
    count: int | None = Field(
        None, description="A count limit: at most so many approved payments a day; null: no count limit set."
    )


def card_controls_out(card: Card) -> list[dict[str, Any]]:
    """Every control in the registry (cards/controls.py), in its order: the API's one list of them."""
    limits: list[dict[str, Any]] = [
        {
            "name": limit.name,
            "kind": ControlKind.AMOUNT_LIMIT,
            "value_minor": limit.amount.minor,
            "max_minor": limit.maximum.minor,
            "enabled": None,
        }
        for limit in card.controls.limits
    ]
    toggles: list[dict[str, Any]] = [
        {"name": switch.name, "kind": ControlKind.SWITCH, "value_minor": None, "max_minor": None, "enabled": switch.on}
        for switch in card.controls.switches
    ]
    counts: list[dict[str, Any]] = [
        {"name": name, "kind": ControlKind.COUNT_LIMIT, "value_minor": None, "max_minor": None, "enabled": None}
        | {"count": value}
        for name, value in card.controls.count_limits().items()
    ]
    return limits + toggles + counts


class CardOut(Schema):
    reference: str
    bank: str = Field(description=BANK_DESCRIPTION)
    customer: str = Field(description="The cardholder's reference: the bank's own customer number.")
    account: str
    product: str
    last4: str = Field(description="The last four digits: the only part of the number ever returned.")
    embossed_name: str
    expiry: dt.date
    status: CardStatus = Field(
        description="The status as it holds now: a cardholder's temporary block not lifted within 60 days "
        "reads as cancelled (block_expired) from the moment the 60 days are up, before the daily job records it."
    )
    status_reason: StatusReason
    status_changed_at: dt.datetime
    contactless_enabled: bool
    currency: Currency
    cash_limit_minor: int
    noncash_limit_minor: int
    internet_limit_minor: int
    cash_limit_max_minor: int
    noncash_limit_max_minor: int
    internet_limit_max_minor: int
    controls: list[CardControlOut] = Field(
        description="Every control of the card, from the one registry of controls: the daily limits, then the "
        "switches. Controls added later appear here; the flat `*_limit_minor` fields above stay for compatibility."
    )
    replaces: str | None = Field(description="The card this one renewed or replaced.")
    replaced_by: str | None = Field(description="The card that renewed or replaced this one.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_status(obj: Card) -> str:
        return obj.status_now().status

    @staticmethod
    def resolve_status_reason(obj: Card) -> str:
        return obj.status_now().reason

    @staticmethod
    def resolve_status_changed_at(obj: Card) -> dt.datetime:
        return obj.status_now().changed_at

    @staticmethod
    def resolve_bank(obj: Card) -> str:
        return obj.bank.code

    @staticmethod
    def resolve_customer(obj: Card) -> str:
        return customer_number(obj.customer, obj.bank_id)

    @staticmethod
    def resolve_account(obj: Card) -> str:
        return obj.account.reference

    @staticmethod
    def resolve_product(obj: Card) -> str:
        return obj.product.code

    @staticmethod
    def resolve_last4(obj: Card) -> str:
        return obj.pan_last4

    @staticmethod
    def resolve_currency(obj: Card) -> str:
        return obj.product.currency

    @staticmethod
    def resolve_controls(obj: Card) -> list[dict[str, Any]]:
        return card_controls_out(obj)

    @staticmethod
    def resolve_replaces(obj: Card) -> str | None:
        return obj.replaces.reference if obj.replaces is not None else None

    @staticmethod
    def resolve_replaced_by(obj: Card) -> str | None:
        return Card.objects.filter(replaces=obj).values_list("reference", flat=True).first()


# --- Conversion rates ---------------------------------------------------------------

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
RateText = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,9}(\.[0-9]{1,9})?$"),
    Field(
        description="Units of the target currency per 1 unit of the source currency, as a decimal string "
        "(no float rounding): above 0, at most 9 digits before and 9 after the point.",
        examples=["4.2735"],
    ),
]
EcbRateText = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,9}(\.[0-9]{1,9})?$"),
    Field(
        description="Units of the currency per 1 EUR, as a decimal string (no float rounding): above 0, at most 9 "
        "digits before and 9 after the point.",
        examples=["4.2350"],
    ),
]


def _datetime_text(value: Any) -> Any:
    # A moment only as ISO 8601 text: pydantic's lax mode would read a number as seconds since 1970.
    if not isinstance(value, str | dt.datetime):
        raise ValueError(_("Input should be a date and time in ISO 8601 with its UTC offset."))
    return value


_EARLIEST_MOMENT = dt.datetime.combine(EARLIEST_DATE, dt.time(), tzinfo=dt.UTC)


def _utc_moment(value: dt.datetime) -> dt.datetime:
    # Stored in UTC: an offset beyond what PostgreSQL takes (+20:29 is valid ISO 8601) must not reach it,
    # and nothing Kartosfera stores happened before 1900 (core/dates.py).
    try:
        moment = value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(_("The moment must lie between 1900 and 9999.")) from None
    if moment < _EARLIEST_MOMENT:
        raise ValueError(_("The moment must lie between 1900 and 9999."))
    return moment


Moment = Annotated[AwareDatetime, BeforeValidator(_datetime_text), AfterValidator(_utc_moment)]


class ConversionRateIn(InputSchema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "from_currency": "EUR",
                    "to_currency": "PLN",
                    "rate": "4.2735",
                    "valid_from": "2026-11-30T00:00:00+01:00",
                }
            ]
        },
    )

    from_currency: CurrencyCode = Field(description="ISO 4217 code of the transaction's currency.")
    to_currency: Currency = Field(description="An account currency.")
    rate: RateText
    valid_from: Moment | None = Field(
        None, description="From when the rate applies (ISO 8601 with its offset); left out: now."
    )


class ConversionRateOut(Schema):
    from_currency: str
    to_currency: Currency
    rate: str = Field(description="A decimal string.")
    valid_from: dt.datetime
    created_at: dt.datetime

    @staticmethod
    def resolve_rate(obj: Any) -> str:
        return format(obj.rate.normalize(), "f")


# --- Account postings ---------------------------------------------------------------


def _date_text(value: Any) -> Any:
    # A date only as YYYY-MM-DD text: pydantic's lax mode would read a number as seconds since 1970.
    if not isinstance(value, str | dt.date):
        raise ValueError(_("Enter a date as YYYY-MM-DD."))
    return value


DateText = Annotated[dt.date, BeforeValidator(_date_text)]

PositiveAmount = Annotated[
    int,
    Strict(),
    Field(ge=1, le=MAX_AMOUNT_MINOR, description="An amount in minor units (grosze, cents), 1 to 10^15."),
]
PostingDescription = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX_LENGTH), AfterValidator(_storable)]


class AccountPostingIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reference": "TRN-2026-000451",
                    "direction": "credit",
                    "amount_minor": 650000,
                    "currency": "PLN",
                    "description": "Wynagrodzenie 11/2026",
                    "booking_date": "2026-11-27",
                }
            ]
        }
    )

    reference: Reference = Field(
        description="The bank's reference of the posting, unique on the account: the same reference with the same "
        "content is never booked twice (200 with the first posting); with other content it is a 409."
    )
    direction: Literal["credit", "debit"] = Field(description="`credit` raises the balance, `debit` lowers it.")
    amount_minor: PositiveAmount
    currency: Currency = Field(description="The account's currency.")
    description: PostingDescription = Field("", description="The bank's words for it, as a statement shows them.")
    booking_date: DateText | None = Field(
        None, description="The day the bank booked it: from 1900-01-01 to today. Default: today (Warsaw)."
    )


class AccountPostingOut(Schema):
    reference: str = Field(description="The bank's reference of the posting.")
    account: str
    direction: Literal["credit", "debit"]
    amount_minor: int
    currency: Currency
    balance_change_minor: int = Field(description="What the posting did to the balance: +amount or -amount.")
    description: str
    booking_date: dt.date
    created_at: dt.datetime

    @staticmethod
    def resolve_reference(obj: Posting) -> str:
        return obj.bank_reference

    @staticmethod
    def resolve_account(obj: Posting) -> str:
        return obj.account.reference

    @staticmethod
    def resolve_direction(obj: Posting) -> str:
        return DIRECTION_OF_KIND[PostingKind(obj.kind)]

    @staticmethod
    def resolve_booking_date(obj: Posting) -> dt.date:
        return obj.processing_date


class RepaymentIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"reference": "SPL-2026-000117", "amount_minor": 125000, "currency": "PLN", "value_date": "2026-11-27"}
            ]
        }
    )

    reference: Reference = Field(
        description="The bank's reference of the repayment, unique on the account (shared with its other postings): "
        "the same reference with the same content is never booked twice (200 with the first repayment); with "
        "other content it is a 409."
    )
    amount_minor: PositiveAmount
    currency: Currency = Field(description="The account's currency.")
    value_date: DateText | None = Field(
        None, description="The day the money counts from: from 1900-01-01 to today. Default: today (Warsaw)."
    )


class RepaymentOut(Schema):
    reference: str = Field(description="The bank's reference of the repayment.")
    account: str
    amount_minor: int
    currency: Currency
    balance_change_minor: int = Field(description="What the repayment did to the balance: +amount.")
    value_date: dt.date
    created_at: dt.datetime

    @staticmethod
    def resolve_reference(obj: Posting) -> str:
        return obj.bank_reference

    @staticmethod
    def resolve_account(obj: Posting) -> str:
        return obj.account.reference

    @staticmethod
    def resolve_value_date(obj: Posting) -> dt.date:
        return obj.processing_date


# --- ECB reference rates ------------------------------------------------------------


class EcbRatesIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"date": "2026-11-27", "rates": {"PLN": "4.2350", "CZK": "25.105", "HUF": "385.40"}}]
        }
    )

    date: DateText = Field(description="The ECB's reference date (its publication day): from 1999-01-04 to today.")
    rates: dict[CurrencyCode, EcbRateText] = Field(
        min_length=1,
        max_length=64,
        description="Units of each currency per 1 EUR, as the ECB publishes them (e.g. PLN 4.2350); not EUR itself.",
    )
    available_from: Moment | None = Field(
        None,
        description="From when the rates count as available (ISO 8601 with its offset). Default: 16:00 in "
        "Frankfurt on the date, when the ECB publishes them.",
    )


class EcbRateOut(Schema):
    currency: str
    rate: str = Field(description="Units of the currency per 1 EUR, a decimal string.")
    date: DateText = Field(description="The ECB's reference date.")
    available_from: dt.datetime
    created_at: dt.datetime

    @staticmethod
    def resolve_rate(obj: Any) -> str:
        return format(obj.rate.normalize(), "f")

    @staticmethod
    def resolve_date(obj: Any) -> dt.date:
        return obj.rate_date


class EcbRatesOut(Schema):
    date: dt.date
    rates: list[EcbRateOut]
