"""Producing each decline a holder's control causes, through the card core's real decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone, translation

from kartosfera.cards.operations_services import card_contactless_set
from kartosfera.core.audit import Actor
from kartosfera.core.crypto import decrypt
from kartosfera.notices.controls import DECLINE_NOTICE_CONTROLS
from kartosfera.notices.models import DeclineNotice
from kartosfera.notifications import gsm7
from kartosfera.processing.codes import Reason
from kartosfera.processing.models import Channel
from kartosfera.processing.services import Decision
from kartosfera.processing.tests.helpers import PIN, CardFixture, active_card, decide
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant

HOLDER = Actor.system("tests")
# Anna's own portal phone (conftest.py ``anna``): her texts go there, not to the phone on file.
ANNAS_PHONE = "+48601000111"
# A merchant on the holder's trusted list: its internet payments need no 3-D Secure, so the limit decides.
TRUSTED_MID = "MIDTRUST"


def holder_card(**overrides: Any) -> CardFixture:
    """An active card whose product allows internet payments (its own customer, with a phone on file)."""
    return active_card(internet_limit_default_minor=300_000, **overrides)


def _contactless_off(tc: CardFixture, **kw: Any) -> Decision:
    if tc.refresh().contactless_enabled:
        card_contactless_set(actor=HOLDER, card=tc.card, enabled=False)
    return decide(tc, channel=Channel.POS_CONTACTLESS, **kw)


def _mobile_payments_off(tc: CardFixture, **kw: Any) -> Decision:
    return decide(tc, channel=Channel.WALLET, **kw)  # mobile payments are off until the holder activates them


def _internet_locked(tc: CardFixture, **kw: Any) -> Decision:
    ThreeDSProfile.objects.update_or_create(
        customer_id=tc.card.customer_id, defaults={"locked_until": timezone.now() + dt.timedelta(hours=3)}
    )
    return decide(tc, channel=Channel.ECOMMERCE, **kw)


def _cash_limit(tc: CardFixture, **kw: Any) -> Decision:
    kw.setdefault("amount_minor", tc.refresh().cash_limit_minor + 1)
    return decide(tc, channel=Channel.ATM, pin_entered=True, pin=PIN, **kw)


def _noncash_limit(tc: CardFixture, **kw: Any) -> Decision:
    kw.setdefault("amount_minor", tc.refresh().noncash_limit_minor + 1)
    return decide(tc, channel=Channel.POS_CHIP, **kw)


def _internet_limit(tc: CardFixture, **kw: Any) -> Decision:
    TrustedMerchant.objects.get_or_create(
        customer_id=tc.card.customer_id, merchant_id=TRUSTED_MID, defaults={"name": "Allegro", "country": "PL"}
    )
    kw.setdefault("amount_minor", tc.refresh().internet_limit_minor + 1)
    return decide(tc, channel=Channel.ECOMMERCE, merchant_id=TRUSTED_MID, **kw)


DECLINES: dict[str, Callable[..., Decision]] = {
    Reason.CONTACTLESS_DISABLED: _contactless_off,
    Reason.MOBILE_PAYMENTS_DISABLED: _mobile_payments_off,
    Reason.INTERNET_PAYMENTS_LOCKED: _internet_locked,
    Reason.CASH_LIMIT_EXCEEDED: _cash_limit,
    Reason.NONCASH_LIMIT_EXCEEDED: _noncash_limit,
    Reason.INTERNET_LIMIT_EXCEEDED: _internet_limit,
}
# Every control of the brief is produced end to end; a control added later is covered by test_controls.py's
# checks of its name, and welcome here with its own producer.
assert DECLINES.keys() <= DECLINE_NOTICE_CONTROLS.keys()


def decline(tc: CardFixture, reason: str, **kw: Any) -> Decision:
    """A payment of ``tc`` that the holder's control behind ``reason`` declines."""
    decision = DECLINES[reason](tc, **kw)
    assert decision.authorization.decline_reason == reason, decision.authorization.decline_reason
    return decision


def sms_text(notice: DeclineNotice) -> str:
    assert notice.sms is not None
    return decrypt(notice.sms.text_ciphertext)


def control_in_sms(reason: str) -> str:
    """The control's name as the SMS writes it: in the bank's language (Polish), without diacritics."""
    with translation.override("pl"):
        return gsm7.transliterate(str(DECLINE_NOTICE_CONTROLS[reason]))
