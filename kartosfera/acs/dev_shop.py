"""The development shop's 3DS server and directory server (/dev/shop/, DEBUG only; docs/3d-secure.md).

A merchant's 3DS server builds the AReq and reads the ARes; the directory server gives the dsTransID and, after a
challenge, receives the ACS's RReq. The shop plays both against the REAL ACS API over HTTP (POST
/api/acs/v2/areq with a development ACS-scope key), so what it shows is what the ACS decided. The card's full
number exists only inside the AReq's body: the order the browser carries names the card by its id.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kartosfera.acs.challenge import REASON_AUTHENTICATION_FAILED, REASON_NOT_ENROLLED
from kartosfera.acs.decision import Reason
from kartosfera.acs.services import AUTHENTICATION_VALUE_VALIDITY, REASON_TIMED_OUT
from kartosfera.api.models import ApiScope
from kartosfera.cards.models import Card
from kartosfera.processing.merchants import MERCHANTS, DemoMerchant
from kartosfera.processing.terminal import (
    ApiAnswer,
    ProcessorClient,
    demo_areq_fields,
    dev_api_token,
)

ACS_API_PATH = "/api/acs/v2/"
DEV_ACS_KEY_NAME = "Development shop (3DS server and directory server)"
MESSAGE_VERSION = "2.2.0"
# The shop's id as a 3DS requestor.
REQUESTOR_ID = "KARTOSFERA-DEV-SHOP"
REQUESTOR_NAME = "Kartosfera development shop"
# threeDSRequestorChallengeInd: 01 no preference (the ACS may answer frictionless), 04 challenge mandated.
NO_PREFERENCE, CHALLENGE_MANDATED = "01", "04"
# challengeWindowSize 05: the full page (the shop's frame spans the page's width).
WINDOW_FULL = "05"

# The demo merchants that sell online: the shop's merchants.
SHOP_MERCHANTS: tuple[DemoMerchant, ...] = tuple(merchant for merchant in MERCHANTS if merchant.online)
SHOP_MERCHANTS_BY_KEY = {merchant.key: merchant for merchant in SHOP_MERCHANTS}

# transStatusReason (EMV 3DS 2.2) in words, for the codes our ACS answers (acs/decision.py, acs/services.py).
REASON_WORDS: dict[str, Promise] = {
    REASON_AUTHENTICATION_FAILED: _("The cardholder cancelled the confirmation."),
    Reason.UNSUPPORTED_DEVICE: _("This kind of device is not supported."),
    Reason.EXPIRED_CARD: _("The card has expired."),
    Reason.NO_CARD_RECORD: _("The bank does not know this card."),
    Reason.STOLEN_CARD: _("The card is reported stolen."),
    Reason.SUSPECTED_FRAUD: _("The card is reported lost."),
    Reason.NOT_PERMITTED: _("The card cannot pay now (not activated, blocked or cancelled)."),
    REASON_NOT_ENROLLED: _("The cardholder cannot confirm payments yet: no 3DS PIN or no phone for the codes."),
    REASON_TIMED_OUT: _("The challenge was not finished in time."),
    Reason.MAX_CHALLENGES: _("Internet payments are locked after wrong 3DS PINs or SMS codes."),
    Reason.NPA_NOT_SUPPORTED: _("Authentication without a payment is not supported."),
    Reason.THREE_RI_NOT_SUPPORTED: _("Authentication requested by the merchant alone is not supported."),
}

ORDER_SALT = "kartosfera.acs.dev_shop.order"


def reason_words(code: str) -> str:
    """A transStatusReason in the UI's language; the bare code when the shop does not know it."""
    words = REASON_WORDS.get(code)
    return str(words) if words is not None else code


def dev_acs_token() -> str:
    """The shop's ACS-scope group token, kept like the terminal's processor token (0600 file, DEV_ACS_KEY_PATH)."""
    return dev_api_token(
        path=Path(settings.DEV_ACS_KEY_PATH),
        scope=ApiScope.ACS,
        name=DEV_ACS_KEY_NAME,
        actor_label="development shop",
    )


@dataclass(frozen=True)
class Order:
    """What the shop remembers of a payment between its pages: ids and amounts, never the card number.

    It travels signed (``sign``) as the challenge's threeDSSessionData, which the ACS posts back unchanged with
    the CRes: the ACS's page is a frame of another site in real life, where the shop's cookies do not reach.
    """

    card_id: int
    merchant_key: str
    amount_minor: int
    currency: str
    three_ds_server_trans_id: str
    ds_trans_id: str
    acs_trans_id: str = ""

    @property
    def merchant(self) -> DemoMerchant:
        return SHOP_MERCHANTS_BY_KEY[self.merchant_key]

    @property
    def processor_id(self) -> str:
        # One authorization per authentication: sending it again is the processor API's idempotent retry.
        return f"shop-{self.three_ds_server_trans_id}"

    @property
    def network_transaction_id(self) -> str:
        return f"nt-{self.three_ds_server_trans_id}"

    def sign(self) -> str:
        """The order as base64url text (as EMV 3DS wants threeDSSessionData), signed with SECRET_KEY."""
        signed = signing.dumps(asdict(self), salt=ORDER_SALT, compress=True)
        return base64.urlsafe_b64encode(signed.encode()).decode().rstrip("=")

    @classmethod
    def unsign(cls, text: str) -> Order | None:
        """The order ``sign`` wrote, or None when it is not one (tampered, truncated, older than the value's life)."""
        try:
            signed = b64url_decode(text).decode("ascii")
            data = signing.loads(signed, salt=ORDER_SALT, max_age=AUTHENTICATION_VALUE_VALIDITY)
            order = cls(**data)
        except (ValueError, TypeError, signing.BadSignature):
            return None
        if order.merchant_key not in SHOP_MERCHANTS_BY_KEY:
            return None
        return order


def new_order(*, card: Card, merchant: DemoMerchant, amount_minor: int, currency: str) -> Order:
    """A new payment with fresh ids: the 3DS server's transaction id and the directory server's."""
    return Order(
        card_id=card.pk,
        merchant_key=merchant.key,
        amount_minor=amount_minor,
        currency=currency,
        three_ds_server_trans_id=str(uuid.uuid4()),
        ds_trans_id=str(uuid.uuid4()),
    )


def b64url_decode(text: str) -> bytes:
    """base64url with or without its padding (EMV 3DS sends it without); ValueError when it is not base64url."""
    text = text.strip()
    if not text or any(char in text for char in "+/"):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def b64url_encode(data: dict[str, Any]) -> str:
    """A JSON message as EMV 3DS sends it in a form field: base64url without padding."""
    text = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def areq_body(
    *,
    order: Order,
    card: Card,
    challenge: bool,
    notification_url: str,
    language: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The AReq for ``order``: the full card number only here, inside the request body."""
    return {
        **demo_areq_fields(
            card=card,
            merchant=order.merchant,
            amount_minor=order.amount_minor,
            currency=order.currency,
            notification_url=notification_url,
            now=now,
            three_ds_server_trans_id=order.three_ds_server_trans_id,
            ds_trans_id=order.ds_trans_id,
        ),
        "threeDSRequestorChallengeInd": CHALLENGE_MANDATED if challenge else NO_PREFERENCE,
        "threeDSRequestorID": REQUESTOR_ID,
        "threeDSRequestorName": REQUESTOR_NAME,
        "browserLanguage": language[:8],
    }


def areq_send(*, base_url: str, body: dict[str, Any]) -> ApiAnswer:
    """POST the AReq to the ACS API at ``base_url`` (this server's /api/acs/v2/) with the shop's ACS key."""
    return ProcessorClient(base_url, dev_acs_token()).post("areq", body)


def creq_for(order: Order) -> str:
    """The challenge request (CReq) the browser posts to the acsURL, base64url as EMV 3DS sends it."""
    return b64url_encode(
        {
            "threeDSServerTransID": order.three_ds_server_trans_id,
            "acsTransID": order.acs_trans_id,
            "messageType": "CReq",
            "messageVersion": MESSAGE_VERSION,
            "challengeWindowSize": WINDOW_FULL,
        }
    )


class CResInvalid(ValueError):
    """The posted CRes is not one the shop can read, or not for this order (the message says why)."""


def cres_read(text: str, *, order: Order) -> dict[str, Any]:
    """The CRes the ACS's page posted: base64url (padded or not) JSON for ``order``'s transaction; CResInvalid else."""
    try:
        cres = json.loads(b64url_decode(text))
    except ValueError:
        raise CResInvalid(_("The challenge result (cres) is not base64url-encoded JSON.")) from None
    if not isinstance(cres, dict) or cres.get("messageType") != "CRes":
        raise CResInvalid(_("The challenge result (cres) is not a CRes message."))
    if cres.get("threeDSServerTransID") != order.three_ds_server_trans_id or (
        order.acs_trans_id and cres.get("acsTransID") != order.acs_trans_id
    ):
        raise CResInvalid(_("The challenge result (cres) is for another payment."))
    if cres.get("transStatus") not in ("Y", "N"):
        raise CResInvalid(_("The challenge result (cres) has no valid transStatus."))
    return cres


def three_ds_of(message: dict[str, Any], *, order: Order) -> dict[str, str]:
    """The processor API's ``three_ds`` object from an ARes or RReq with transStatus Y."""
    return {
        "eci": str(message.get("eci") or ""),
        "authentication_value": str(message.get("authenticationValue") or ""),
        "ds_transaction_id": order.ds_trans_id,
    }
