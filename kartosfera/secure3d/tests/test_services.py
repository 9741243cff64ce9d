from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import PermissionDenied, ValidationError

from kartosfera.core.audit import Actor
from kartosfera.core.errors import Conflict, ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.secure3d import services
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant

pytestmark = pytest.mark.django_db

WARSAW = ZoneInfo("Europe/Warsaw")
PIN = "5830"


def _customer(person):
    return person.customer


@pytest.mark.parametrize(
    ("pin", "code"),
    [
        ("123", "pin_format"),
        ("12345", "pin_format"),
        ("12a4", "pin_format"),
        ("١٢٣٤", "pin_format"),  # non-ASCII digits
        ("7777", "pin_repeated"),
        ("1234", "pin_run"),
        ("6789", "pin_run"),
        ("0123", "pin_run"),
        ("4321", "pin_run"),
        ("9876", "pin_run"),
        ("1985", "pin_birth_year"),  # Anna was born in 1985
    ],
)
def test_trivial_pins_are_refused_with_a_reason(cardholder, pin, code):
    with pytest.raises(ValidationError) as exc:
        services.threeds_pin_validate(pin, customer=cardholder.customer)
    assert exc.value.code == code


@pytest.mark.parametrize("pin", ["5830", "1357", "1986", "2468"])
def test_other_pins_are_accepted(cardholder, pin):
    assert services.threeds_pin_validate(pin, customer=cardholder.customer) == pin


def test_setting_and_changing_the_pin_stores_an_argon2_hash_and_audits(cardholder):
    customer = cardholder.customer
    actor = Actor.for_user(cardholder.user)
    profile = services.threeds_pin_set(
        actor=actor, customer=customer, pin_hash=services.threeds_pin_hash(PIN, customer=customer)
    )
    assert profile.pin_hash.startswith("argon2$") and check_password(PIN, profile.pin_hash)
    assert profile.pin_set_at is not None
    services.threeds_pin_set(
        actor=actor, customer=customer, pin_hash=services.threeds_pin_hash("2468", customer=customer)
    )
    profile.refresh_from_db()
    assert check_password("2468", profile.pin_hash) and not check_password(PIN, profile.pin_hash)
    actions = list(AuditEvent.objects.filter(customer_id=customer.pk).values_list("action", flat=True))
    assert actions.count("secure3d.pin.set") == 1 and actions.count("secure3d.pin.changed") == 1
    assert PIN not in str(list(AuditEvent.objects.values_list("before", "after")))


def test_a_clear_pin_is_refused_by_the_service(cardholder):
    with pytest.raises(ValueError, match="Argon2"):
        services.threeds_pin_set(actor=Actor.system(), customer=cardholder.customer, pin_hash=PIN)


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
    services.threeds_pin_set(
        actor=Actor.system(), customer=customer, pin_hash=services.threeds_pin_hash(PIN, customer=customer)
    )
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
