"""The card PIN: the trivial-PIN rules, the keyed verification value and the services that store it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import translation

from kartosfera.cards.models import Card
from kartosfera.cards.operations import OperationNotAllowed
from kartosfera.cards.operations_services import (
    card_activate,
    card_block_temporarily,
    card_mobile_payments_activate,
    card_pin_change,
)
from kartosfera.cards.pin import (
    COMMON_PINS,
    PinRule,
    pin_check,
    pin_matches,
    pin_verification_value,
    pin_verification_values,
    threeds_pin_verification_values,
)
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.models import Customer

SYSTEM = Actor.system("tests")
# The cardholder's own actions (a block by SYSTEM would be the bank's, which the holder cannot lift).
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")
BIRTH = dt.date(1985, 3, 14)


def _card(last4: str = "4821", birth_date: dt.date | None = BIRTH, reference: str = "C1") -> Card:
    # Unsaved: the rules and the value read only these fields.
    return Card(
        reference=reference,
        pan_fingerprint="f" * 64,
        pan_last4=last4,
        customer=Customer(birth_date=birth_date),
    )


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("pin", "rule", "message"),
    [
        ("", PinRule.FORMAT, "exactly 4 digits"),
        ("123", PinRule.FORMAT, "exactly 4 digits"),
        ("12345", PinRule.FORMAT, "exactly 4 digits"),
        ("12a4", PinRule.FORMAT, "exactly 4 digits"),
        ("١٢٣٩", PinRule.FORMAT, "exactly 4 digits"),  # Arabic-Indic digits: isdigit() but not ASCII
        ("1111", PinRule.SAME_DIGITS, "one digit repeated"),
        ("0000", PinRule.SAME_DIGITS, "one digit repeated"),
        ("9999", PinRule.SAME_DIGITS, "one digit repeated"),
        ("1234", PinRule.SEQUENCE, "consecutive digits"),
        ("4321", PinRule.SEQUENCE, "consecutive digits"),
        ("0123", PinRule.SEQUENCE, "consecutive digits"),
        ("9876", PinRule.SEQUENCE, "consecutive digits"),
        ("6789", PinRule.SEQUENCE, "consecutive digits"),
        ("3210", PinRule.SEQUENCE, "consecutive digits"),
        ("4821", PinRule.CARD_NUMBER, "last 4 digits of the card number"),
        ("1985", PinRule.BIRTH_YEAR, "year of birth"),
        ("1403", PinRule.BIRTH_DAY, "birthday"),
        ("0314", PinRule.BIRTH_DAY, "birthday"),
        *[(pin, PinRule.COMMON, "most common") for pin in sorted(COMMON_PINS)],
    ],
)
def test_a_trivial_pin_is_refused_with_its_reason(pin, rule, message):
    with pytest.raises(ValidationError) as refused:
        pin_check(pin, card=_card())
    assert refused.value.code == rule
    assert message in refused.value.messages[0]


@pytest.mark.parametrize("pin", ["5930", "7482", "0246", "1357", "8642", "2019", "9012", "1235", "0121"])
def test_an_ordinary_pin_is_accepted(pin):
    pin_check(pin, card=_card())


def test_the_birth_rules_apply_only_when_the_birth_date_is_known():
    pin_check("1985", card=_card(birth_date=None))
    pin_check("1403", card=_card(birth_date=None))


def test_the_reasons_are_translated_in_the_active_language():
    source = "The PIN cannot be a run of consecutive digits, like 1234 or 4321."
    with pytest.raises(ValidationError) as refused:
        pin_check("1234", card=_card())
    with translation.override("pl"):
        assert str(refused.value.message) == translation.gettext(source)  # lazy: rendered when shown


# --- the PIN verification value --------------------------------------------------------------


def test_the_value_is_a_keyed_one_way_hex_digest_without_the_pin():
    value = pin_verification_value("5930", card=_card())
    assert len(value) == 64 and set(value) <= set("0123456789abcdef")
    assert "5930" not in value
    assert value == pin_verification_value("5930", card=_card())
    assert value != pin_verification_value("5931", card=_card())


def test_the_value_is_bound_to_the_card():
    assert pin_verification_value("5930", card=_card(reference="C1")) != pin_verification_value(
        "5930", card=_card(reference="C2")
    )
    other_pan = _card()
    other_pan.pan_fingerprint = "e" * 64
    assert pin_verification_value("5930", card=_card()) != pin_verification_value("5930", card=other_pan)


def test_the_value_depends_on_the_pin_key():
    value = pin_verification_value("5930", card=_card())
    with override_settings(CARD_PIN_KEYS=["another-key-" + "k" * 32]):
        assert pin_verification_value("5930", card=_card()) != value


def test_pin_matches_checks_the_stored_value():
    card = _card()
    assert pin_matches("5930", card=card) is False  # no PIN set yet
    card.pin_verification_value = pin_verification_value("5930", card=card)
    assert pin_matches("5930", card=card) is True
    assert pin_matches("5931", card=card) is False


# --- the services -------------------------------------------------------------------------------


@pytest.fixture
def active(card) -> Card:
    return card_activate(actor=SYSTEM, card=card)


def _threeds(pin: str, card: Card) -> dict[str, str]:
    return threeds_pin_verification_values(pin, customer=card.customer)


@pytest.mark.django_db
def test_card_pin_change_stores_the_value_and_resets_the_wrong_pin_count(active):
    Card.objects.filter(pk=active.pk).update(wrong_pin_count=2)
    pvv = pin_verification_value("5930", card=active)

    card_pin_change(
        actor=SYSTEM,
        card=active,
        pvvs=pin_verification_values("5930", card=active),
        threeds_pvvs=_threeds("5930", active),
    )

    active.refresh_from_db()
    assert active.pin_verification_value == pvv
    assert active.wrong_pin_count == 0
    assert active.pin_changed_at is not None
    assert pin_matches("5930", card=active)
    event = AuditEvent.objects.get(action="cards.card.pin_changed", object_id=str(active.pk))
    assert pvv not in str(event.before) + str(event.after)
    assert "5930" not in str(event.before) + str(event.after)


@pytest.mark.django_db
@pytest.mark.parametrize("not_a_value", ["5930", "", "x" * 64, "F" * 64])
def test_card_pin_change_refuses_anything_but_a_verification_value(active, not_a_value):
    values = pin_verification_values("5930", card=active)
    for wrong in (not_a_value, dict.fromkeys(values, not_a_value), {}):
        with pytest.raises(ValueError, match="verification value"):
            card_pin_change(actor=SYSTEM, card=active, pvvs=wrong, threeds_pvvs=values)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="verification value"):
            card_pin_change(actor=SYSTEM, card=active, pvvs=values, threeds_pvvs=wrong)  # type: ignore[arg-type]
    active.refresh_from_db()
    assert active.pin_verification_value == ""


@pytest.mark.django_db(transaction=True)
def test_card_pin_change_on_a_blocked_card_is_refused_and_audited(active):
    card_block_temporarily(actor=HOLDER, card=active)
    with pytest.raises(OperationNotAllowed, match="unblock it first"):
        card_pin_change(
            actor=SYSTEM,
            card=active,
            pvvs=pin_verification_values("5930", card=active),
            threeds_pvvs=_threeds("5930", active),
        )
    active.refresh_from_db()
    assert active.pin_verification_value == ""
    refusal = AuditEvent.objects.get(action="cards.card.operation_refused", object_id=str(active.pk))
    assert refusal.after["operation"] == "pin_change"


@pytest.mark.django_db
def test_card_pin_change_on_an_inactive_card_is_refused(card):
    with pytest.raises(OperationNotAllowed, match="Activate the card first"):
        card_pin_change(
            actor=SYSTEM,
            card=card,
            pvvs=pin_verification_values("5930", card=card),
            threeds_pvvs=_threeds("5930", card),
        )


@pytest.mark.django_db
def test_mobile_payments_activation_switches_them_on_once_and_audits_it(active):
    assert active.mobile_payments_enabled is False
    card_mobile_payments_activate(actor=SYSTEM, card=active)
    card_mobile_payments_activate(actor=SYSTEM, card=active)  # idempotent: no second row

    active.refresh_from_db()
    assert active.mobile_payments_enabled is True
    events = AuditEvent.objects.filter(action="cards.card.mobile_payments_activated", object_id=str(active.pk))
    assert events.count() == 1
    assert events.get().after == {"mobile_payments_enabled": True}


@pytest.mark.django_db(transaction=True)
def test_mobile_payments_on_a_blocked_card_are_refused_and_audited(active):
    card_block_temporarily(actor=HOLDER, card=active)
    with pytest.raises(OperationNotAllowed):
        card_mobile_payments_activate(actor=SYSTEM, card=active)
    active.refresh_from_db()
    assert active.mobile_payments_enabled is False
    refusal = AuditEvent.objects.get(action="cards.card.operation_refused", object_id=str(active.pk))
    assert refusal.after["operation"] == "mobile_payments_activate"
