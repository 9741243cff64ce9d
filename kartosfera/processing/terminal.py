"""The development payment terminal and the traffic simulator's HTTP side (development only).

Both play the card processor against the REAL processor API over HTTP
(docs/processing.md), with a processor key of their own: :func:`dev_processor_token`
keeps its token in a 0600 file under var/ (``DEV_PROCESSOR_KEY_PATH``), because the
database keeps only a hash of it. An internet payment's 3-D Secure data come from our
own ACS (``three_ds_authenticate``: an AReq in-process), never made up: the card core
accepts only a value our ACS gave. Neither exists in production.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from kartosfera.acs.currencies import ALPHA_TO_NUMERIC, EXPONENTS
from kartosfera.acs.models import AuthenticationRecord
from kartosfera.acs.schemas import AReqIn
from kartosfera.acs.services import AReq, areq_answer
from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_authenticate, api_key_create
from kartosfera.cards.models import Card
from kartosfera.cards.pan import decrypt_pan
from kartosfera.cards.pinblock import pin_block_encipher
from kartosfera.core.audit import Actor
from kartosfera.processing.merchants import DemoMerchant, demo_billing
from kartosfera.processing.models import Channel

DEV_KEY_NAME = "Development terminal and simulator"
TIMEOUT_SECONDS = 15


def dev_processor_token() -> str:
    """A processor-scope API token for development tools: the stored one while it works, else a new key."""
    return dev_api_token(
        path=Path(settings.DEV_PROCESSOR_KEY_PATH),
        scope=ApiScope.PROCESSOR,
        name=DEV_KEY_NAME,
        actor_label="development terminal",
    )


def dev_api_token(*, path: Path, scope: str, name: str, actor_label: str) -> str:
    """A group API token with ``scope`` kept in the 0600 file ``path``: the stored one while it works, else a new key.

    Development tools only (the terminal, the simulator, the shop): the database keeps only a hash of a token.
    """
    if settings.IS_PRODUCTION:
        raise ImproperlyConfigured("Development API keys are never created in production.")
    try:
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        token = ""
    api_key = api_key_authenticate(token=token) if token else None
    if api_key is not None and api_key.has_scope(scope):
        return token
    # The file is missing, or the database was reset: a new key, and only its owner may read the token.
    _api_key, token = api_key_create(actor=Actor.system(actor_label), name=name, scopes=[scope])
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(token)
    return token


@dataclass(frozen=True)
class ApiAnswer:
    status: int  # 0: the API could not be reached
    body: dict[str, Any]


class ProcessorClient:
    """POSTs JSON to the processor API at ``base_url`` (e.g. http://127.0.0.1:8000/api/processor/v1)."""

    def __init__(self, base_url: str, token: str) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("The processor API's URL must start with http:// or https://.")
        self.base_url = base_url.rstrip("/")
        self.token = token

    def post(self, path: str, body: dict[str, Any]) -> ApiAnswer:
        request = urllib.request.Request(  # noqa: S310 (scheme checked)
            f"{self.base_url}/{path.lstrip('/')}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (scheme checked)
                return ApiAnswer(response.status, json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as exc:
            try:
                answer = json.loads(exc.read() or b"{}")
            except ValueError:
                answer = {}
            return ApiAnswer(exc.code, answer if isinstance(answer, dict) else {})
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as exc:
            return ApiAnswer(0, {"detail": str(exc)})


# ISO 3166-1 numeric codes of the demo merchants' countries (the AReq's merchantCountryCode).
COUNTRY_NUMERIC = {"PL": "616", "DE": "276", "AT": "040", "CZ": "203", "FR": "250", "NL": "528", "SE": "752"}
DEV_3DS_SERVER = Actor.system("development 3DS server")
# The ARes names where the holder's browser would go for a challenge; the development tools never go there.
DEV_CHALLENGE_URL = "http://127.0.0.1:8000/acs/challenge"
DEV_ACQUIRER_BIN = "412345"


def merchant_id_of(merchant: DemoMerchant) -> str:
    """The acquirer's merchant id of a demo merchant, in the AReq and in the authorization alike."""
    return f"M{merchant.key.upper()[:20]}"


def demo_areq_fields(
    *,
    card: Card,
    merchant: DemoMerchant,
    amount_minor: int,
    currency: str,
    notification_url: str,
    now: dt.datetime | None = None,
    three_ds_server_trans_id: str | None = None,
    ds_trans_id: str | None = None,
) -> dict[str, Any]:
    """The AReq of a demo card's browser payment at a demo merchant (the development tools' 3DS server); the full
    card number only in here, inside the request body."""
    numeric = ALPHA_TO_NUMERIC[currency]
    return {
        "messageType": "AReq",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": three_ds_server_trans_id or str(uuid.uuid4()),
        "dsTransID": ds_trans_id or str(uuid.uuid4()),
        "acctNumber": decrypt_pan(card.pan_ciphertext),
        "cardExpiryDate": f"{card.expiry:%y%m}",
        "deviceChannel": "02",  # browser
        "messageCategory": "01",  # payment
        "purchaseAmount": str(amount_minor),
        "purchaseCurrency": numeric,
        "purchaseExponent": str(EXPONENTS[numeric]),
        "purchaseDate": f"{(now or timezone.now()).astimezone(dt.UTC):%Y%m%d%H%M%S}",
        "merchantName": merchant.name[:40],
        "mcc": merchant.mcc,
        "merchantCountryCode": COUNTRY_NUMERIC[merchant.country],
        "acquirerBIN": DEV_ACQUIRER_BIN,
        "acquirerMerchantID": merchant_id_of(merchant),
        "notificationURL": notification_url,
    }


def three_ds_authenticate(
    *,
    card: Card,
    merchant: DemoMerchant,
    amount_minor: int,
    currency: str,
    now: dt.datetime | None = None,
) -> AuthenticationRecord:
    """Ask our ACS to authenticate a payment, as the merchant's 3DS server would: an AReq (parsed by the ACS API's
    schema) through ``areq_answer`` in-process, at ``now``. The record has the answer: a Y with its value and
    ECI (``three_ds_data``), a C (the holder must pass the challenge), or an N / R."""
    fields = demo_areq_fields(
        card=card,
        merchant=merchant,
        amount_minor=amount_minor,
        currency=currency,
        notification_url="https://merchant.example/3ds/notify",
        now=now,
    )
    payload = AReqIn.model_validate(fields)
    ares = json.loads(
        areq_answer(
            actor=DEV_3DS_SERVER,
            areq=AReq(fields=payload.model_dump(exclude_none=True), pan=payload.acctNumber),
            challenge_url=DEV_CHALLENGE_URL,
            now=now,
        )
    )
    return AuthenticationRecord.objects.get(acs_trans_id=ares["acsTransID"])


def three_ds_data(record: AuthenticationRecord) -> dict[str, str]:
    """The authorization's 3-D Secure data of an authentication our ACS answered Y, as the 3DS server passes it on."""
    data = {"eci": record.eci, "authentication_value": record.authentication_value}
    if record.areq.get("dsTransID"):
        data["ds_transaction_id"] = str(record.areq["dsTransID"])
    return data


def authorization_body(
    *,
    card: Card,
    merchant: DemoMerchant,
    amount_minor: int,
    currency: str,
    channel: str,
    pin: str | None = None,
    processor_id: str | None = None,
    network_transaction_id: str | None = None,
    three_ds: dict[str, str] | None = None,
    sca_exemption: str = "",
) -> dict[str, Any]:
    """The processor's authorization request for a demo card (the full number only inside the body)."""
    pan = decrypt_pan(card.pan_ciphertext)
    body: dict[str, Any] = {
        "id": processor_id or f"dev-{secrets.token_hex(8)}",
        "network_transaction_id": network_transaction_id or f"nt-{secrets.token_hex(8)}",
        "card": {"pan": pan, "expiry": card.expiry.strftime("%Y-%m")},
        "amount_minor": amount_minor,
        "currency": currency,
        "merchant": {
            "name": merchant.name,
            "city": merchant.city,
            "country": merchant.country,
            "mcc": merchant.mcc,
            "id": merchant_id_of(merchant),
            "terminal_id": "T0001",
        },
        "channel": channel,
    }
    billing = demo_billing(amount_minor, currency, card.account.currency)
    if billing is not None:
        body["billing_amount_minor"], rate = billing
        body["billing_currency"] = card.account.currency
        body["billing_rate"] = str(rate)
    if pin is not None:
        body["pin_block"] = pin_block_encipher(pin=pin, pan=pan).hex().upper()
    if channel == Channel.ECOMMERCE:
        # Without ``three_ds`` (three_ds_data of our ACS's Y), the card core needs an exemption or soft-declines.
        if three_ds:
            body["three_ds"] = three_ds
        if sca_exemption:
            body["sca_exemption"] = sca_exemption
    return body
