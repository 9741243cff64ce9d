"""AReqs and cards for the ACS's tests."""

from __future__ import annotations

import uuid
from typing import Any

from kartosfera.acs.services import AReq
from kartosfera.cards.pin import threeds_pin_verification_value
from kartosfera.core.audit import Actor
from kartosfera.processing.tests.helpers import CardFixture
from kartosfera.secure3d.models import ThreeDSProfile

DS = Actor(type="api_client", id="kfk_ds", label="directory server")
CHALLENGE_URL = "https://testserver/acs/challenge"


def areq_fields(tc: CardFixture | None = None, *, pan: str = "", **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "messageType": "AReq",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": str(uuid.uuid4()),
        "acctNumber": pan or (tc.pan if tc else ""),
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
    fields.update(overrides)
    return fields


def areq(tc: CardFixture | None = None, **overrides: Any) -> AReq:
    fields = areq_fields(tc, **overrides)
    return AReq(fields=fields, pan=fields["acctNumber"])


def with_threeds_pin(tc: CardFixture, **profile: Any) -> ThreeDSProfile:
    customer = tc.card.customer
    value = threeds_pin_verification_value("7391", customer=customer)
    return ThreeDSProfile.objects.create(customer=customer, pin_verification_value=value, **profile)
