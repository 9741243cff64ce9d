"""The finer controls through the real pipeline (issue 15, docs/controls.md): each switch, category, country
rule, count limit and the temporary raise approves and declines with its own reason and codes."""

from __future__ import annotations

import datetime as dt

import pytest

from kartosfera.cards.controls_services import (
    card_controls_change,
    card_limits_raise_temporarily,
    control_settings_clean,
    control_settings_of,
)
from kartosfera.cards.models import Brand
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType
from kartosfera.processing.adjustments import authorization_increment
from kartosfera.processing.models import Channel, DailySpend
from kartosfera.processing.tests.helpers import PIN, active_card, decide

pytestmark = pytest.mark.django_db

HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")
T0 = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(params=[Brand.VISA, Brand.MASTERCARD])
def brand(request) -> str:
    return request.param


def _card(brand: str = Brand.VISA):
    # Internet payments allowed (the product's default internet limit is 0: switched off).
    return active_card(brand=brand, internet_limit_default_minor=300_000)


def _set(tc, **changes) -> None:
    now = changes.pop("now", None)
    current = control_settings_of(tc.card)
    values = {
        "switches": {**current.switches, **changes.pop("switches", {})},
        "counts": {**current.count_limits, **changes.pop("counts", {})},
        "blocked_categories": changes.pop("blocked_categories", current.blocked_categories),
        "country_rule": changes.pop("country_rule", current.country_rule),
        "countries": changes.pop("countries", current.countries),
    }
    assert not changes
    tc.card = card_controls_change(actor=HOLDER, card=tc.card, settings=control_settings_clean(**values), now=now)


def _declined(decision, reason: str, visa: str, mastercard: str, brand: str) -> None:
    authorization = decision.authorization
    code = visa if brand == Brand.VISA else mastercard
    assert (authorization.approved, authorization.decline_reason, authorization.response_code) == (False, reason, code)
    assert authorization.held_minor == 0


def _approved(decision) -> None:
    assert decision.authorization.approved, decision.authorization.decline_reason


# The channel each switch governs, and a request of it that the rest of the pipeline approves.
PAYMENTS = {
    "atm": {"channel": Channel.ATM, "pin_entered": True, "pin": PIN, "mcc": "6011"},
    "online": {"channel": Channel.ECOMMERCE, "sca_exemption": "merchant_initiated"},
    "magstripe": {"channel": Channel.MAGSTRIPE},
    "moto": {"channel": Channel.MANUAL},
}


@pytest.mark.parametrize("switch", sorted(PAYMENTS))
def test_each_switch_off_declines_its_channel_only_with_9g_57(switch, brand):
    tc = _card(brand)
    _approved(decide(tc, **PAYMENTS[switch]))
    _set(tc, switches={switch: False})

    _declined(decide(tc, **PAYMENTS[switch]), f"{switch}_disabled", "9G", "57", brand)
    # The other channels still pay.
    for other, payment in PAYMENTS.items():
        if other != switch:
            _approved(decide(tc, **payment))
    _approved(decide(tc, channel=Channel.POS_CHIP))

    _set(tc, switches={switch: True})
    _approved(decide(tc, **PAYMENTS[switch]))


def test_abroad_off_declines_every_merchant_outside_poland_online_included(brand):
    tc = _card(brand)
    _set(tc, switches={"abroad": False})

    _declined(decide(tc, merchant_country="DE"), "abroad_disabled", "9G", "57", brand)
    online_abroad = decide(tc, merchant_country="LU", **PAYMENTS["online"])
    _declined(online_abroad, "abroad_disabled", "9G", "57", brand)
    _declined(decide(tc, merchant_country="CZ", **PAYMENTS["atm"]), "abroad_disabled", "9G", "57", brand)
    _approved(decide(tc, merchant_country="PL"))
    _approved(decide(tc, merchant_country="pl"))


def test_only_the_chosen_countries(brand):
    tc = _card(brand)
    _set(tc, country_rule="allow", countries="pl, cz")

    _declined(decide(tc, merchant_country="DE"), "country_blocked", "9G", "57", brand)
    _approved(decide(tc, merchant_country="CZ"))
    _approved(decide(tc, merchant_country="PL"))


def test_every_country_but_the_chosen_ones(brand):
    tc = _card(brand)
    _set(tc, country_rule="block", countries=["DE", "NL"])

    _declined(decide(tc, merchant_country="DE"), "country_blocked", "9G", "57", brand)
    _declined(decide(tc, merchant_country="NL", **PAYMENTS["online"]), "country_blocked", "9G", "57", brand)
    _approved(decide(tc, merchant_country="FR"))


@pytest.mark.parametrize(
    ("category", "mccs"),
    [
        ("gambling", ["7995", "7801", "9406"]),
        ("dating", ["7273"]),
        ("adult", ["5967"]),
        ("crypto", ["6051", "6540"]),
        ("money_transfer", ["4829", "6012"]),
        ("pawn_shops", ["5933"]),
    ],
)
def test_a_blocked_merchant_category_declines_its_codes_only(category, mccs, brand):
    tc = _card(brand)
    _set(tc, blocked_categories=[category])

    for mcc in mccs:
        _declined(decide(tc, mcc=mcc), "merchant_category_blocked", "9G", "57", brand)
    _approved(decide(tc, mcc="5411"))


def test_gambling_switched_back_on_stays_blocked_for_48_hours_to_the_second():
    tc = _card()
    _set(tc, blocked_categories=["gambling"], now=T0)
    unblocked_at = T0 + dt.timedelta(hours=1)
    tc.card = card_controls_change(
        actor=HOLDER,
        card=tc.card,
        settings=control_settings_clean(
            switches={},
            counts={},
            blocked_categories=[],
            country_rule="none",
            countries=[],
        ),
        now=unblocked_at,
    )
    lifts_at = unblocked_at + dt.timedelta(hours=48)
    assert tc.card.category_blocks == {"gambling": lifts_at.isoformat()}

    just_before = lifts_at - dt.timedelta(seconds=1)
    decision = decide(tc, mcc="7995", now=just_before)
    _declined(decision, "merchant_category_blocked", "9G", "57", Brand.VISA)
    _approved(decide(tc, mcc="7995", now=lifts_at))
    # Other categories lift at once.
    _set(tc, blocked_categories=["dating"], now=unblocked_at)
    _set(tc, blocked_categories=[], now=unblocked_at)
    _approved(decide(tc, mcc="7273", now=unblocked_at))


def test_blocking_gambling_again_during_the_cooling_off_keeps_it_blocked_for_good():
    tc = _card()
    _set(tc, blocked_categories=["gambling"], now=T0)
    _set(tc, blocked_categories=[], now=T0)
    _set(tc, blocked_categories=["gambling"], now=T0 + dt.timedelta(hours=2))

    assert tc.card.category_blocks == {"gambling": None}
    decision = decide(tc, mcc="7995", now=T0 + dt.timedelta(days=30))
    _declined(decision, "merchant_category_blocked", "9G", "57", Brand.VISA)


@pytest.mark.parametrize(
    ("name", "payment", "reason"),
    [
        ("pos_count", {"channel": Channel.POS_CONTACTLESS, "amount_minor": 1_000}, "pos_count_exceeded"),
        ("atm_count", PAYMENTS["atm"], "atm_count_exceeded"),
        ("online_count", PAYMENTS["online"], "online_count_exceeded"),
    ],
)
def test_a_count_limit_declines_the_next_payment_of_its_channel_with_65_61(name, payment, reason, brand):
    tc = _card(brand)
    _set(tc, counts={name: 2})

    _approved(decide(tc, **payment))
    _approved(decide(tc, **payment))
    _declined(decide(tc, **payment), reason, "65", "61", brand)
    # A declined payment does not count; the other channels have their own counts.
    others = [p for n, p in (("pos_count", {"channel": Channel.POS_CHIP}), ("atm_count", PAYMENTS["atm"])) if n != name]
    for other in others:
        _approved(decide(tc, **other))
    # Raised to 3: one more.
    _set(tc, counts={name: 3})
    _approved(decide(tc, **payment))


def test_a_count_limit_of_zero_stops_the_channel_and_counts_reset_at_midnight():
    tc = _card()
    _set(tc, counts={"pos_count": 1})
    day = dt.datetime(2026, 6, 15, 21, 0, tzinfo=dt.UTC)  # 23:00 in Warsaw
    _approved(decide(tc, now=day))
    _declined(decide(tc, now=day), "pos_count_exceeded", "65", "61", Brand.VISA)
    _approved(decide(tc, now=day + dt.timedelta(hours=1, minutes=1)))  # 00:01 the next day in Warsaw
    _set(tc, counts={"pos_count": 0})
    _declined(decide(tc, now=day + dt.timedelta(hours=2)), "pos_count_exceeded", "65", "61", Brand.VISA)


def test_an_increment_is_not_a_new_payment_for_the_count_limits():
    tc = _card()
    _set(tc, counts={"pos_count": 1})
    first = decide(tc, mcc="7011")
    _approved(first)
    increment = authorization_increment(
        actor=HOLDER, authorization_id=first.authorization.processor_id, increment_id="inc-1", amount_minor=1_000
    )
    assert increment.adjustment.approved

    counted = DailySpend.objects.get(card=tc.card, group="pos")
    assert counted.count == 1


def test_a_temporary_raise_applies_until_its_second_then_falls_back():
    tc = _card()
    own = tc.card.noncash_limit_minor
    big = own + 100_000
    before = decide(tc, amount_minor=big, now=T0 - dt.timedelta(minutes=1))
    _declined(before, "noncash_limit_exceeded", "61", "61", Brand.VISA)
    card_limits_raise_temporarily(actor=HOLDER, card=tc.card, limits={"noncash": own + 300_000}, minutes=10, now=T0)
    tc.card.refresh_from_db()

    _approved(decide(tc, amount_minor=big, now=T0 + dt.timedelta(minutes=9, seconds=59)))
    # The raise has ended: the card's own limit holds again (and the day already used most of it).
    ended = T0 + dt.timedelta(minutes=10)
    _declined(decide(tc, amount_minor=1_000, now=ended), "noncash_limit_exceeded", "61", "61", Brand.VISA)
