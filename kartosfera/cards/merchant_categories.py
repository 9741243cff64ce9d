"""Merchant categories a cardholder can block, in words, with the merchant category codes behind each.

A merchant category code (MCC, ISO 18245) is the four digits the acquirer gives a merchant for what it
sells; every authorization carries it. The codes below are the ones the card schemes assign to each
kind of business. Sources: ISO 18245:2023 (the code list); Visa Merchant Data Standards Manual (April
2024), and Mastercard Quick Reference Booklet - Merchant Edition (2024), for the schemes' own codes
(7800-7802 and 9406 for government lotteries and licensed gambling, 6051 for quasi-cash including
cryptocurrency purchases, 6540 for stored-value card loads); the grouping into categories is ours.

A block is per card (``Card.category_blocks``) and read by the pipeline's ``check_merchant_category``.
Gambling has a cooling-off period: switching it back on takes effect only after 48 hours, as some banks
do for gambling blocks (e.g. Monzo, Starling in the UK) so that a block set in a calm moment is not
undone on impulse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# How long a gambling block stays after the holder switches gambling back on.
GAMBLING_COOLING_OFF = dt.timedelta(hours=48)


@dataclass(frozen=True)
class BlockableCategory:
    key: str
    label: Promise
    examples: Promise
    mccs: frozenset[str]
    # Unblocking takes effect only after this long (None: at once).
    cooling_off: dt.timedelta | None = None


BLOCKABLE_CATEGORIES: tuple[BlockableCategory, ...] = (
    BlockableCategory(
        key="gambling",
        label=_("Gambling"),
        examples=_("betting, casinos, lotteries"),
        # 7995 betting and casino gaming; 7800 government-owned lotteries; 7801 government-licensed online
        # casinos; 7802 government-licensed horse and dog racing; 9406 government-owned lotteries (non-US).
        mccs=frozenset({"7995", "7800", "7801", "7802", "9406"}),
        cooling_off=GAMBLING_COOLING_OFF,
    ),
    BlockableCategory(
        key="dating",
        label=_("Dating and escort services"),
        examples=_("dating sites and apps"),
        mccs=frozenset({"7273"}),
    ),
    BlockableCategory(
        key="adult",
        label=_("Adult content"),
        examples=_("adult sites and services sold by phone or online"),
        # 5967 direct marketing - inbound teleservices, the schemes' code for adult content.
        mccs=frozenset({"5967"}),
    ),
    BlockableCategory(
        key="crypto",
        label=_("Cryptocurrencies and quasi-cash"),
        examples=_("crypto exchanges, foreign currency, money orders"),
        # 6051 non-financial institutions - foreign currency, money orders, travellers' cheques, crypto;
        # 6540 stored-value card purchase and load.
        mccs=frozenset({"6051", "6540"}),
    ),
    BlockableCategory(
        key="money_transfer",
        label=_("Money transfers"),
        examples=_("wire transfers and money orders sent by card"),
        # 4829 wire transfers and money orders; 6012 payments to other financial institutions.
        mccs=frozenset({"4829", "6012"}),
    ),
    BlockableCategory(
        key="pawn_shops",
        label=_("Pawn shops and security brokers"),
        examples=_("pawn shops, brokers, bail bonds"),
        # 5933 pawn shops; 6211 security brokers and dealers; 9223 bail and bond payments.
        mccs=frozenset({"5933", "6211", "9223"}),
    ),
)

_BY_KEY = {category.key: category for category in BLOCKABLE_CATEGORIES}
_BY_MCC = {mcc: category for category in BLOCKABLE_CATEGORIES for mcc in category.mccs}


def blockable_category(key: str) -> BlockableCategory:
    """The category ``key`` (KeyError for an unknown one)."""
    return _BY_KEY[key]


def blockable_keys() -> list[str]:
    return [category.key for category in BLOCKABLE_CATEGORIES]


def category_of_mcc(mcc: str) -> BlockableCategory | None:
    """The blockable category an MCC belongs to, or None (most codes: groceries, fuel, ...)."""
    return _BY_MCC.get(mcc)


def representative_mcc(key: str) -> str:
    """One code of the category (the "what if" check pays with it): the lowest, for a stable answer."""
    return min(_BY_KEY[key].mccs)
