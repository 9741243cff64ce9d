"""The AReq and ARes of EMV 3DS 2.2 as the ACS accepts and answers them (research §6: field names and formats).

Fields the ACS does not use are ignored and not stored (the stored AReq holds only what is declared here,
without acctNumber). Every message names the field; the card number is never echoed.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from stdnum import luhn

from kartosfera.acs.currencies import EXPONENTS
from kartosfera.core.money import MAX_AMOUNT_MINOR

# This machine's names: an http notificationURL may point here outside production (ACS_NOTIFICATION_HTTP_LOOPBACK).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def notification_url_allowed(url: str) -> bool:
    """An https address; outside production also http to this machine (the development shop, the tests)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and settings.ACS_NOTIFICATION_HTTP_LOOPBACK and parts.hostname in LOOPBACK_HOSTS


UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
UuidText = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]


class AReqIn(BaseModel):
    # The example is the documented story's card (docs/api.md: CARD-000555) paying 50.00 PLN in a Polish shop.
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "messageType": "AReq",
                    "messageVersion": "2.2.0",
                    "threeDSServerTransID": "8a880dc0-d2d2-4067-bcb1-b08d1690b26e",
                    "acctNumber": "4000000001234568",
                    "deviceChannel": "02",
                    "messageCategory": "01",
                    "purchaseAmount": "5000",
                    "purchaseCurrency": "985",
                    "purchaseExponent": "2",
                    "purchaseDate": "20261130101500",
                    "merchantName": "Księgarnia Sklep",
                    "mcc": "5942",
                    "merchantCountryCode": "616",
                    "acquirerBIN": "412345",
                    "acquirerMerchantID": "MERCHANT-001",
                    "notificationURL": "https://merchant.example/3ds/notify",
                }
            ]
        },
    )

    messageType: Literal["AReq"] = Field(description="Always AReq.")
    messageVersion: Annotated[str, StringConstraints(pattern=r"^2\.[12]\.[0-9]$")] = Field(
        description="2.1.0 or 2.2.0."
    )
    threeDSServerTransID: UuidText = Field(description="The 3DS server's transaction id (UUID).")
    dsTransID: UuidText | None = Field(None, description="The directory server's transaction id (UUID).")
    acctNumber: str = Field(description="The card number, 13-19 digits; used to find the card, never stored.")
    cardExpiryDate: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}(0[1-9]|1[0-2])$")] | None = Field(
        None, description="YYMM."
    )
    deviceChannel: Literal["01", "02", "03"] = Field(description="01 app, 02 browser, 03 3RI.")
    messageCategory: Literal["01", "02"] = Field(description="01 payment, 02 non-payment.")
    purchaseAmount: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,48}$")] = Field(
        description="The amount in minor units, digits only."
    )
    purchaseCurrency: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")] = Field(
        description="ISO 4217 numeric code, e.g. 985 (PLN)."
    )
    purchaseExponent: Annotated[str, StringConstraints(pattern=r"^[0-9]$")] = Field(
        description="Minor units of the currency, one digit."
    )
    purchaseDate: Annotated[str, StringConstraints(pattern=r"^[0-9]{14}$")] = Field(description="YYYYMMDDHHMMSS, UTC.")
    merchantName: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        description="The merchant's name as the cardholder knows it."
    )
    mcc: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] = Field(description="Merchant category code.")
    merchantCountryCode: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")] = Field(
        description="ISO 3166-1 numeric, e.g. 616 (Poland)."
    )
    acquirerBIN: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,11}$")] = Field(description="The acquirer's BIN.")
    acquirerMerchantID: Annotated[str, StringConstraints(min_length=1, max_length=35)] = Field(
        description="The merchant's id at its acquirer."
    )
    notificationURL: Annotated[str, StringConstraints(max_length=256)] = Field(
        description="Where the challenge's result is posted; https."
    )
    threeDSRequestorChallengeInd: Literal["01", "02", "03", "04", "05", "06", "07", "08", "09"] | None = Field(
        None, description="01 no preference … 04 challenge mandated (03 and 04 always get a challenge)."
    )
    threeDSRequestorID: Annotated[str, StringConstraints(max_length=35)] | None = None
    threeDSRequestorName: Annotated[str, StringConstraints(max_length=40)] | None = None
    browserLanguage: Annotated[str, StringConstraints(max_length=8)] | None = None

    @field_validator(
        "merchantName",
        "acquirerMerchantID",
        "notificationURL",
        "threeDSRequestorID",
        "threeDSRequestorName",
        "browserLanguage",
    )
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        # A control character (NUL above all) cannot be stored in PostgreSQL's text or jsonb: refuse it here.
        if value is not None and any(unicodedata.category(char) == "Cc" for char in value):
            raise ValueError(_("This field must not contain control characters."))
        return value

    @field_validator("purchaseAmount")
    @classmethod
    def _amount(cls, value: str) -> str:
        if int(value) > MAX_AMOUNT_MINOR:
            raise ValueError(_("This amount is too large."))
        return value

    @field_validator("acctNumber")
    @classmethod
    def _card_number(cls, value: str) -> str:
        if not (value.isascii() and value.isdigit() and 13 <= len(value) <= 19):
            raise ValueError(_("The card number must have 13 to 19 digits."))
        if not luhn.is_valid(value):
            raise ValueError(_("The card number fails the Luhn check."))
        return value

    @field_validator("purchaseDate")
    @classmethod
    def _purchase_date(cls, value: str) -> str:
        try:
            dt.datetime.strptime(value, "%Y%m%d%H%M%S")
        except ValueError:
            raise ValueError(_("Give the purchase date as YYYYMMDDHHMMSS.")) from None
        return value

    @field_validator("notificationURL")
    @classmethod
    def _notification_url(cls, value: str) -> str:
        if not notification_url_allowed(value):
            raise ValueError(_("The notification URL must be an https address."))
        return value

    @field_validator("purchaseExponent")
    @classmethod
    def _exponent(cls, value: str, info: ValidationInfo) -> str:
        currency = info.data.get("purchaseCurrency")
        if currency in EXPONENTS and int(value) != EXPONENTS[currency]:
            raise ValueError(_("The exponent does not match the currency's minor units."))
        return value


class AResOut(Schema):
    messageType: Literal["ARes"]
    messageVersion: str
    threeDSServerTransID: str
    acsTransID: str
    dsTransID: str | None = None
    acsReferenceNumber: str
    transStatus: Literal["Y", "N", "C", "R"] = Field(
        description="Y authenticated, N not authenticated, C challenge, R rejected."
    )
    transStatusReason: str | None = Field(None, description="EMV 3DS reason code with N and R.")
    authenticationValue: str | None = Field(None, description="28 base64 characters, with Y.")
    eci: str | None = Field(None, description="With Y: Visa 05, Mastercard 02.")
    acsURL: str | None = Field(None, description="With C: where the 3DS server posts the CReq.")
    authenticationType: str | None = None
    acsChallengeMandated: str | None = None
