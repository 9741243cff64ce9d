from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from kartosfera.core.audit import Actor
from kartosfera.core.errors import Conflict, InvalidTransition, ValidationFailed
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.devices import services
from kartosfera.devices.models import AppDevice, BlockedBy, DeviceActivationCode, DeviceRequestId, DeviceState
from kartosfera.devices.services import ActivationRefused
from kartosfera.devices.tests.app_client import DEFAULT_PIN, AppClient

pytestmark = pytest.mark.django_db

# The holder, as the portal passes them (a system actor would act for the bank).
HOLDER = Actor(type=ActorType.CUSTOMER, id="1", label="user:1")


def _issue(customer) -> tuple[DeviceActivationCode, str]:
    activation = services.device_activation_code_issue(actor=HOLDER, customer=customer)
    code = services.device_activation_code_reveal(actor=HOLDER, activation=activation)
    assert code is not None
    return activation, code


def _activate(customer, code: str, *, app: AppClient | None = None, name: str = "Pixel 8") -> AppDevice:
    app = app or AppClient()
    return services.device_activate(
        pin=DEFAULT_PIN, customer=customer, code=code, public_key=app.public_key, device_name=name
    )


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


def _actions(obj) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )


def test_the_code_is_8_digits_kept_only_as_a_digest_and_shown_once(cardholder):
    activation = services.device_activation_code_issue(actor=HOLDER, customer=cardholder.customer)
    code = services.device_activation_code_reveal(actor=HOLDER, activation=activation)
    assert code is not None and len(code) == 8 and code.isdigit()
    activation.refresh_from_db()
    assert activation.code_ciphertext == "" and activation.shown_at is not None
    assert code not in activation.code_digest
    assert services.device_activation_code_reveal(actor=HOLDER, activation=activation) is None
    assert _actions(activation) == ["devices.activation_code.issued", "devices.activation_code.shown"]
    assert not any(code in str(event.after) for event in AuditEvent.objects.all())


def test_the_right_code_activates_a_device_once(cardholder):
    activation, code = _issue(cardholder.customer)
    device = _activate(cardholder.customer, code)
    assert device.customer == cardholder.customer and device.state == DeviceState.ACTIVE
    activation.refresh_from_db()
    assert activation.used_at is not None and activation.device == device
    assert _actions(device) == ["devices.device.activated"]
    with pytest.raises(ActivationRefused) as error:
        _activate(cardholder.customer, code)
    assert error.value.reason == "code_used"
    assert AppDevice.objects.count() == 1


def test_a_code_expires_after_10_minutes(cardholder):
    with time_machine.travel(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        _activation, code = _issue(cardholder.customer)
        clock.move_to(dt.datetime(2026, 11, 30, 9, 9, 59, tzinfo=dt.UTC))
        first = AppClient()
        # Still valid a second before the end: a wrong one is only counted.
        with pytest.raises(ActivationRefused):
            _activate(cardholder.customer, _wrong(code), app=first)
        clock.move_to(dt.datetime(2026, 11, 30, 9, 10, tzinfo=dt.UTC))
        with pytest.raises(ActivationRefused) as error:
            _activate(cardholder.customer, code, app=first)
    assert error.value.reason == "code_expired"
    assert not AppDevice.objects.exists()


def test_a_wrong_code_counts_a_try_and_the_third_ends_the_code(cardholder):
    activation, code = _issue(cardholder.customer)
    for left in (2, 1):
        with pytest.raises(ActivationRefused) as error:
            _activate(cardholder.customer, _wrong(code))
        assert error.value.reason == "code_invalid" and error.value.attempts_left == left
    with pytest.raises(ActivationRefused) as error:
        _activate(cardholder.customer, _wrong(code))
    assert error.value.reason == "too_many_attempts"
    # The right code no longer helps: three tries are all a code gets.
    with pytest.raises(ActivationRefused) as error:
        _activate(cardholder.customer, code)
    assert error.value.reason == "too_many_attempts"
    activation.refresh_from_db()
    assert activation.attempts == 3
    assert AuditEvent.objects.filter(action="devices.activation.refused").count() == 4


def test_a_code_is_bound_to_its_customer(cardholder, second_cardholder):
    _activation, code = _issue(cardholder.customer)
    with pytest.raises(ActivationRefused):
        _activate(second_cardholder.customer, code)
    with pytest.raises(ActivationRefused):
        _activate(None, code)
    assert _activate(cardholder.customer, code).customer == cardholder.customer


def test_a_new_code_ends_the_previous_one(cardholder):
    _first, old_code = _issue(cardholder.customer)
    _second, new_code = _issue(cardholder.customer)
    if old_code != new_code:
        with pytest.raises(ActivationRefused):
            _activate(cardholder.customer, old_code)
    assert _activate(cardholder.customer, new_code).state == DeviceState.ACTIVE


def test_bad_input_is_refused_before_a_try_is_counted(cardholder):
    activation, code = _issue(cardholder.customer)
    with pytest.raises(ValidationFailed) as error:
        services.device_activate(
            pin=DEFAULT_PIN, customer=cardholder.customer, code=code, public_key="not-a-key", device_name="x"
        )
    assert "public_key" in error.value.field_errors
    with pytest.raises(ValidationFailed):
        _activate(cardholder.customer, code, name="   ")
    with pytest.raises(ValidationFailed):
        _activate(cardholder.customer, code, name="x" * 65)
    activation.refresh_from_db()
    assert activation.attempts == 0


def test_a_registered_key_cannot_activate_another_device(cardholder):
    app = AppClient()
    _a, code = _issue(cardholder.customer)
    _activate(cardholder.customer, code, app=app)
    _b, code = _issue(cardholder.customer)
    with pytest.raises(Conflict):
        _activate(cardholder.customer, code, app=app)


@pytest.fixture
def device(cardholder) -> AppDevice:
    _activation, code = _issue(cardholder.customer)
    return _activate(cardholder.customer, code)


def test_the_holder_blocks_unblocks_and_blocks_for_good(device):
    device = services.device_block_temporarily(actor=HOLDER, device=device)
    assert device.state == DeviceState.BLOCKED_TEMPORARILY
    device = services.device_unblock(actor=HOLDER, device=device)
    assert device.state == DeviceState.ACTIVE and device.blocked_by == ""
    device = services.device_block_permanently(actor=HOLDER, device=device)
    assert device.state == DeviceState.BLOCKED_PERMANENTLY
    for transition in (services.device_unblock, services.device_block_temporarily, services.device_block_permanently):
        with pytest.raises(InvalidTransition):
            transition(actor=HOLDER, device=device)
    device.refresh_from_db()
    assert device.state == DeviceState.BLOCKED_PERMANENTLY
    assert _actions(device) == [
        "devices.device.activated",
        "devices.device.blocked",
        "devices.device.unblocked",
        "devices.device.blocked_permanently",
    ]


def test_a_temporarily_blocked_device_can_be_blocked_for_good(device):
    services.device_block_temporarily(actor=HOLDER, device=device)
    assert services.device_block_permanently(actor=HOLDER, device=device).state == DeviceState.BLOCKED_PERMANENTLY


def test_an_active_device_cannot_be_unblocked(device):
    with pytest.raises(InvalidTransition):
        services.device_unblock(actor=HOLDER, device=device)


def test_staff_block_with_a_reason_and_the_holder_cannot_lift_it(device, cardholder, staff):
    agent = Actor.for_user(staff["agent"].user)
    with pytest.raises(ValidationFailed):
        services.device_block_temporarily(actor=agent, device=device, reason="")
    device = services.device_block_temporarily(actor=agent, device=device, reason="Phone reported stolen")
    assert device.blocked_by == BlockedBy.BANK and device.block_reason == "Phone reported stolen"
    with pytest.raises(InvalidTransition) as error:
        services.device_unblock(actor=Actor.for_user(cardholder.user), device=device)
    assert error.value.code == "blocked_by_bank"
    assert services.device_unblock(actor=agent, device=device).state == DeviceState.ACTIVE


def test_old_request_ids_are_purged_idempotently(device):
    now = timezone.now()
    DeviceRequestId.objects.create(device=device, request_id="a" * 16, seen_at=now - dt.timedelta(minutes=11))
    DeviceRequestId.objects.create(device=device, request_id="b" * 16, seen_at=now - dt.timedelta(minutes=9))
    assert services.device_request_ids_purge(now=now) == 1
    assert services.device_request_ids_purge(now=now) == 0
    assert list(DeviceRequestId.objects.values_list("request_id", flat=True)) == ["b" * 16]
