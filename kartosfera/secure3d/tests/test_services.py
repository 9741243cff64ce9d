from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from kartosfera.cards.operations_services import card_activate, card_block_temporarily, card_cancel, card_pin_change
from kartosfera.cards.pin import (
    COMMON_PINS,
    PinRule,
    PinSameAsOtherPin,
    pin_check,
    pin_verification_value,
    pin_verification_values,
    threeds_pin_verification_value,
    threeds_pin_verification_values,
)
from kartosfera.cards.states import StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.errors import Conflict, DomainError, ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.demo.identifiers import make_pan
from kartosfera.notifications.backends import locmem
from kartosfera.secure3d import services
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db

WARSAW = ZoneInfo("Europe/Warsaw")
PIN = "5830"


def _customer(person):
    return person.customer


def _set(customer, pin, actor=None):
    """Set the 3DS PIN as the confirmed step-up does: with the keyed values made when it was asked for."""
    values = services.threeds_pin_values(pin, customer=customer)
    return services.threeds_pin_set(actor=actor or Actor.system(), customer=customer, **values)


def _card_with_pin(customer, pin):
    """An active card of ``customer`` whose PIN is ``pin`` (set through the card service)."""
    card = card_activate(actor=Actor.system(), card=factories.card_factory(customer=customer))
    return card_pin_change(
        actor=Actor.system(),
        card=card,
        pvvs=pin_verification_values(pin, card=card),
        threeds_pvvs=threeds_pin_verification_values(pin, customer=customer),
    )


@pytest.mark.parametrize(
    ("pin", "code"),
    [
        ("123", PinRule.FORMAT),
        ("12345", PinRule.FORMAT),
        ("12a4", PinRule.FORMAT),
        ("١٢٣٤", PinRule.FORMAT),  # non-ASCII digits
        ("7777", PinRule.SAME_DIGITS),
        ("1234", PinRule.SEQUENCE),
        ("6789", PinRule.SEQUENCE),
        ("0123", PinRule.SEQUENCE),
        ("4321", PinRule.SEQUENCE),
        ("9876", PinRule.SEQUENCE),
        ("1985", PinRule.BIRTH_YEAR),  # Anna was born on 14 March 1985
        ("1403", PinRule.BIRTH_DAY),
        ("0314", PinRule.BIRTH_DAY),
        *[(pin, PinRule.COMMON) for pin in sorted(COMMON_PINS)],
    ],
)
def test_trivial_pins_are_refused_with_a_reason(cardholder, pin, code):
    with pytest.raises(ValidationError) as exc:
        services.threeds_pin_validate(pin, customer=cardholder.customer)
    assert exc.value.code == code


def test_the_card_pin_rules_and_the_3ds_pin_rules_are_the_same(cardholder):
    # One rule set (cards/pin.py: pin_weakness): every 4-digit PIN gets the same verdict as a
    # card PIN and as a 3DS PIN (the card-number rule: the card's last digits, any card's for 3DS).
    card = factories.card_factory(customer=cardholder.customer)
    for number in range(10_000):
        pin = f"{number:04d}"
        try:
            pin_check(pin, card=card)
        except ValidationError as exc:
            card_rule = exc.code
        else:
            card_rule = None
        try:
            services.threeds_pin_validate(pin, customer=cardholder.customer)
        except ValidationError as exc:
            threeds_rule = exc.code
        else:
            threeds_rule = None
        assert card_rule == threeds_rule, pin


def test_the_last_digits_of_any_card_but_a_cancelled_one_are_refused(cardholder):
    customer = cardholder.customer
    # Numbers whose last 4 digits break no other rule (a factory's running number could end in a run like 1234).
    first = factories.card_factory(customer=customer, pan=make_pan("400000", 481_730))
    second = factories.card_factory(customer=customer, pan=make_pan("400000", 592_846))
    for card in (first, second):
        with pytest.raises(ValidationError) as exc:
            services.threeds_pin_validate(card.pan_last4, customer=customer)
        assert exc.value.code == PinRule.CARD_NUMBER
    card_cancel(actor=Actor.system(), card=second, reason=StatusReason.LOST)
    assert services.threeds_pin_validate(second.pan_last4, customer=customer) == second.pan_last4


@pytest.mark.parametrize("pin", ["5830", "1357", "1986", "2468"])
def test_other_pins_are_accepted(cardholder, pin):
    assert services.threeds_pin_validate(pin, customer=cardholder.customer) == pin


def test_setting_and_changing_the_pin_stores_a_keyed_value_and_audits(cardholder):
    customer = cardholder.customer
    actor = Actor.for_user(cardholder.user)
    profile = _set(customer, PIN, actor)
    assert profile.pin_verification_value == threeds_pin_verification_value(PIN, customer=customer)
    assert PIN not in profile.pin_verification_value and profile.pin_set_at is not None
    _set(customer, "2468", actor)
    profile.refresh_from_db()
    now = dt.datetime.now(tz=WARSAW)
    assert services.threeds_pin_check(customer=customer, pin="2468", now=now)
    assert not services.threeds_pin_check(customer=customer, pin=PIN, now=now)
    actions = list(AuditEvent.objects.filter(customer_id=customer.pk).values_list("action", flat=True))
    assert actions.count("secure3d.pin.set") == 1 and actions.count("secure3d.pin.changed") == 1
    assert PIN not in str(list(AuditEvent.objects.values_list("before", "after")))


def test_the_value_is_bound_to_the_customer(cardholder, second_cardholder):
    anna = threeds_pin_verification_value(PIN, customer=cardholder.customer)
    assert anna != threeds_pin_verification_value(PIN, customer=second_cardholder.customer)
    card = factories.card_factory(customer=cardholder.customer)
    assert anna != pin_verification_value(PIN, card=card)


def test_a_clear_pin_is_refused_by_the_service(cardholder):
    with pytest.raises(ValueError, match="verification values"):
        services.threeds_pin_set(
            actor=Actor.system(), customer=cardholder.customer, pin_verification_values=PIN, card_pin_values={}
        )
    with pytest.raises(ValueError, match="verification values"):
        services.threeds_pin_set(
            actor=Actor.system(),
            customer=cardholder.customer,
            pin_verification_values={"0123abcd": "a" * 64},
            card_pin_values={"1": {"0123abcd": PIN}},
        )


def test_a_3ds_pin_equal_to_a_card_pin_is_refused_and_nothing_changes(cardholder, django_assert_max_num_queries):
    customer = cardholder.customer
    _card_with_pin(customer, "7391")
    card = _card_with_pin(customer, "5830")
    _set(customer, "2468")
    values = services.threeds_pin_values("5830", customer=customer)
    assert set(values["card_pin_values"]) == {str(c.pk) for c in customer.cards.all()}
    with pytest.raises(PinSameAsOtherPin) as exc:
        services.threeds_pin_set(actor=Actor.system(), customer=customer, **values)
    assert f"*{card.pan_last4}" in exc.value.message and "5830" not in exc.value.message
    now = dt.datetime.now(tz=WARSAW)
    assert services.threeds_pin_check(customer=customer, pin="2468", now=now)
    assert AuditEvent.objects.filter(action="secure3d.pin.changed").count() == 0
    # The comparison with every card costs one query, however many cards there are.
    for _ in range(3):
        _card_with_pin(customer, "8024")
    values = services.threeds_pin_values("6135", customer=customer)
    with django_assert_max_num_queries(1):
        services._refuse_a_card_pin(customer=customer, card_pin_values=values["card_pin_values"])


def test_a_cancelled_cards_pin_does_not_matter(cardholder):
    customer = cardholder.customer
    card = _card_with_pin(customer, "5830")
    card_cancel(actor=Actor.system(), card=card, reason=StatusReason.LOST)
    _set(customer, "5830")
    assert services.threeds_profile_get(customer=customer).has_pin


def test_a_card_whose_block_lapsed_counts_as_cancelled_before_the_job_runs(cardholder):
    customer = cardholder.customer
    card = _card_with_pin(customer, "5830")
    with time_machine.travel(dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC), tick=False):
        card_block_temporarily(actor=Actor.for_user(cardholder.user), card=card)
    with time_machine.travel(dt.datetime(2026, 3, 7, 12, 0, tzinfo=dt.UTC), tick=False):
        _set(customer, "5830")  # 61 days later: the block has become a cancellation
    assert services.threeds_profile_get(customer=customer).has_pin


def test_a_card_pin_set_while_the_code_was_awaited_is_still_compared(cardholder):
    # The values are made when the change is asked for; the comparison runs when it is
    # confirmed, under the customer's lock: a card PIN changed in between still counts.
    customer = cardholder.customer
    card = _card_with_pin(customer, "7391")
    values = services.threeds_pin_values("5830", customer=customer)
    card_pin_change(
        actor=Actor.system(),
        card=card,
        pvvs=pin_verification_values("5830", card=card),
        threeds_pvvs=threeds_pin_verification_values("5830", customer=customer),
    )
    with pytest.raises(PinSameAsOtherPin):
        services.threeds_pin_set(actor=Actor.system(), customer=customer, **values)
    # A card issued after the change was asked for has no value to compare with: start again.
    values = services.threeds_pin_values("6135", customer=customer)
    _card_with_pin(customer, "4806")
    with pytest.raises(DomainError) as exc:
        services.threeds_pin_set(actor=Actor.system(), customer=customer, **values)
    assert exc.value.code == "pin_cards_changed"
    assert not services.threeds_profile_get(customer=customer).has_pin


def test_setting_or_changing_the_pin_tells_the_holder_by_sms(cardholder, django_capture_on_commit_callbacks):
    customer = cardholder.customer
    cardholder.user.portal_phone = "+48601000999"
    cardholder.user.save(update_fields=["portal_phone"])
    with translation.override("en"):
        with django_capture_on_commit_callbacks(execute=True):
            _set(customer, PIN)
        with django_capture_on_commit_callbacks(execute=True):
            _set(customer, "2468")
    texts = [sms.text for sms in locmem.outbox if sms.to == "+48601000999"]
    assert len(texts) == 2
    assert "3-D Secure" in texts[0] and "set" in texts[0]
    assert "3-D Secure" in texts[1] and "changed" in texts[1]
    assert all(PIN not in text and "2468" not in text for text in texts)


def test_the_exemption_is_on_by_default_and_can_be_switched(cardholder):
    customer = cardholder.customer
    assert services.threeds_profile_get(customer=customer).low_value_exemption is True
    actor = Actor.for_user(cardholder.user)
    assert services.threeds_exemption_set(actor=actor, customer=customer, enabled=False).low_value_exemption is False
    services.threeds_exemption_set(actor=actor, customer=customer, enabled=False)  # no change, no row
    assert AuditEvent.objects.filter(action="secure3d.exemption.changed").count() == 1
    assert services.threeds_exemption_set(actor=actor, customer=customer, enabled=True).low_value_exemption is True


def test_trusted_merchants_are_checked_unique_and_removable(cardholder, second_cardholder):
    customer = cardholder.customer
    actor = Actor.for_user(cardholder.user)
    merchant = services.trusted_merchant_add(
        actor=actor, customer=customer, name="  Księgarnia   Nova ", merchant_id="MID-000123", country="pl"
    )
    assert (merchant.name, merchant.country) == ("Księgarnia Nova", "PL")
    with pytest.raises(Conflict):
        services.trusted_merchant_add(actor=actor, customer=customer, name="X", merchant_id="MID-000123", country="PL")
    # Another customer may trust the same merchant.
    services.trusted_merchant_add(
        actor=Actor.for_user(second_cardholder.user),
        customer=second_cardholder.customer,
        name="Nova",
        merchant_id="MID-000123",
        country="PL",
    )
    with pytest.raises(PermissionDenied):
        services.trusted_merchant_remove(actor=actor, customer=second_cardholder.customer, merchant=merchant)
    services.trusted_merchant_remove(actor=actor, customer=customer, merchant=merchant)
    assert not TrustedMerchant.objects.filter(customer=customer).exists()
    assert AuditEvent.objects.filter(action="secure3d.merchant.removed").count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "", "merchant_id": "M1", "country": "PL"}, "name"),
        ({"name": "N", "merchant_id": "M 1", "country": "PL"}, "merchant_id"),
        ({"name": "N", "merchant_id": "M" * 36, "country": "PL"}, "merchant_id"),
        ({"name": "N", "merchant_id": "M1", "country": "XX"}, "country"),
        ({"name": "N", "merchant_id": "M1", "country": "POL"}, "country"),
    ],
)
def test_bad_merchant_fields_are_refused(fields, field):
    with pytest.raises(ValidationFailed) as exc:
        services.trusted_merchant_clean(**fields)
    assert field in exc.value.field_errors


def test_the_list_of_trusted_merchants_is_limited(cardholder, monkeypatch):
    monkeypatch.setattr(services, "MAX_TRUSTED_MERCHANTS", 1)
    actor = Actor.for_user(cardholder.user)
    services.trusted_merchant_add(actor=actor, customer=cardholder.customer, name="A", merchant_id="A1", country="PL")
    with pytest.raises(services.DomainError):
        services.trusted_merchant_add(
            actor=actor, customer=cardholder.customer, name="B", merchant_id="B1", country="PL"
        )


def test_three_failures_lock_until_the_next_warsaw_midnight(cardholder):
    customer = cardholder.customer
    now = dt.datetime(2026, 6, 10, 14, 0, tzinfo=WARSAW)
    services.threeds_failure_record(customer=customer, now=now)
    services.threeds_failure_record(customer=customer, now=now)
    assert not services.threeds_is_locked(customer=customer, now=now)
    profile = services.threeds_failure_record(customer=customer, now=now)
    assert profile.locked_until == dt.datetime(2026, 6, 11, 0, 0, tzinfo=WARSAW)
    assert services.threeds_is_locked(customer=customer, now=now)
    assert services.threeds_is_locked(customer=customer, now=dt.datetime(2026, 6, 10, 23, 59, tzinfo=WARSAW))
    assert not services.threeds_is_locked(customer=customer, now=dt.datetime(2026, 6, 11, 0, 0, tzinfo=WARSAW))
    assert AuditEvent.objects.filter(action="secure3d.locked", customer_id=customer.pk).count() == 1
    # After the lock ends the count starts again: one failure does not lock.
    services.threeds_failure_record(customer=customer, now=dt.datetime(2026, 6, 11, 8, 0, tzinfo=WARSAW))
    assert not services.threeds_is_locked(customer=customer, now=dt.datetime(2026, 6, 11, 8, 0, tzinfo=WARSAW))


def test_the_lock_ends_at_midnight_on_a_dst_day(cardholder):
    # 29 March 2026: the clocks go forward at 02:00, the day has 23 hours.
    now = dt.datetime(2026, 3, 29, 1, 30, tzinfo=WARSAW)
    for _ in range(3):
        profile = services.threeds_failure_record(customer=cardholder.customer, now=now)
    assert profile.locked_until == dt.datetime(2026, 3, 30, 0, 0, tzinfo=WARSAW)
    # Wall-clock arithmetic would say 22h30; the real time to midnight is 21h30.
    assert profile.locked_until.astimezone(dt.UTC) - now.astimezone(dt.UTC) == dt.timedelta(hours=21, minutes=30)
    profile.refresh_from_db()
    assert profile.locked_until == dt.datetime(2026, 3, 30, 0, 0, tzinfo=WARSAW)


def test_a_right_pin_resets_the_count(cardholder):
    customer = cardholder.customer
    _set(customer, PIN)
    now = dt.datetime(2026, 6, 10, 14, 0, tzinfo=WARSAW)
    assert not services.threeds_pin_check(customer=customer, pin="0000", now=now)
    assert not services.threeds_pin_check(customer=customer, pin="0000", now=now)
    assert services.threeds_pin_check(customer=customer, pin=PIN, now=now)
    assert ThreeDSProfile.objects.get(customer=customer).failed_attempts == 0
    for _ in range(3):
        services.threeds_pin_check(customer=customer, pin="0000", now=now)
    with pytest.raises(services.ThreeDSLocked):
        services.threeds_pin_check(customer=customer, pin=PIN, now=now)


def test_only_staff_or_the_system_can_unlock(cardholder, db):
    from kartosfera.users.models import User, UserKind

    customer = cardholder.customer
    now = dt.datetime.now(tz=WARSAW)
    for _ in range(3):
        services.threeds_failure_record(customer=customer, now=now)
    with pytest.raises(PermissionDenied):
        services.threeds_unlock(actor=Actor.for_user(cardholder.user), customer=customer, reason="please")
    staff = User.objects.create_user(username="agent.nowicka", password="Staff-password-123", kind=UserKind.STAFF)
    with pytest.raises(ValidationFailed):
        services.threeds_unlock(actor=Actor.for_user(staff), customer=customer, reason=" ")
    assert services.threeds_is_locked(customer=customer)
    services.threeds_unlock(actor=Actor.for_user(staff), customer=customer, reason="Customer called, identity checked")
    assert not services.threeds_is_locked(customer=customer)
    event = AuditEvent.objects.get(action="secure3d.unlocked")
    assert event.actor_type == "staff" and "identity checked" in event.after["reason"]
    services.threeds_unlock(actor=Actor.system(), customer=customer, reason="batch")


# The GSM 03.38 basic character set: a text made only of these fits 160 characters in one SMS.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@pytest.mark.parametrize("language", ["pl", "en"])
def test_the_3ds_pin_sms_is_one_gsm7_segment_in_each_language(cardholder, django_capture_on_commit_callbacks, language):
    customer = cardholder.customer
    with translation.override(language):
        for pin in (PIN, "2468"):  # set, then changed
            with django_capture_on_commit_callbacks(execute=True):
                _set(customer, pin)
    texts = [sms.text for sms in locmem.outbox if sms.to == customer.phone_on_file]
    assert len(texts) == 2 and texts[0] != texts[1]
    for text in texts:
        assert set(text) <= GSM7_BASIC, text
        assert len(text) <= 160, text
