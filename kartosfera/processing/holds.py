"""How long a hold lasts: a table per scheme, merchant category (MCC) and kind of payment.

Research §3 and "Recommended choices" 5 (../shared/research/card-authorization.md):
lodging, car rental and cruise hold 31 days on Visa and 30 (pre-authorization)
on Mastercard; otherwise a card-not-present payment holds 10 days and a
card-present one 5. An expired hold drops out of the funds and the daily limits;
a late clearing still posts (later issue work).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kartosfera.cards.models import Brand
from kartosfera.processing.models import CARD_NOT_PRESENT


@dataclass(frozen=True)
class HoldRule:
    label: str
    mcc_ranges: tuple[tuple[int, int], ...]
    days: dict[str, int]


# The first rule whose MCC ranges contain the payment's MCC wins.
HOLD_RULES: tuple[HoldRule, ...] = (
    HoldRule(
        "lodging, car rental, cruise",
        ((3351, 3999), (7011, 7011), (7512, 7512), (4411, 4411)),
        {Brand.VISA: 31, Brand.MASTERCARD: 30},
    ),
)
CARD_NOT_PRESENT_DAYS = 10
CARD_PRESENT_DAYS = 5


def hold_days(*, brand: str, mcc: str, channel: str) -> int:
    """How many days a hold of this payment lasts."""
    code = int(mcc) if mcc.isdigit() else -1
    for rule in HOLD_RULES:
        if any(low <= code <= high for low, high in rule.mcc_ranges):
            return rule.days[brand]
    return CARD_NOT_PRESENT_DAYS if channel in CARD_NOT_PRESENT else CARD_PRESENT_DAYS


def hold_expires_at(*, brand: str, mcc: str, channel: str, now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(days=hold_days(brand=brand, mcc=mcc, channel=channel))
