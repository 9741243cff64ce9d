"""Real concurrent connections on PostgreSQL: an activation code activates one device, tries are never lost,
a request id passes once, a block racing a request leaves the device blocked, and wrong app PINs racing each
count (the third blocks)."""

from __future__ import annotations

import time
import uuid

import pytest
from django.db import connection

from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError
from kartosfera.core.models import AuditEvent
from kartosfera.devices import services, sessions, signatures
from kartosfera.devices.models import AppDevice, DeviceActivationCode, DeviceRequestId
from kartosfera.devices.tests.app_client import DEFAULT_PIN, AppClient
from kartosfera.testing.concurrency import run_together
from kartosfera.testing.factories import customer_factory

SYSTEM = Actor.system("tests")

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
    pytest.mark.django_db(transaction=True),
]


def _code(customer) -> tuple[DeviceActivationCode, str]:
    activation = services.device_activation_code_issue(actor=SYSTEM, customer=customer)
    code = services.device_activation_code_reveal(actor=SYSTEM, activation=activation)
    assert code is not None
    return activation, code


def test_two_phones_racing_with_the_same_code_activate_one_device():
    for _ in range(5):
        customer = customer_factory()
        _activation, code = _code(customer)
        apps = [AppClient(), AppClient()]
        outcomes = run_together(
            *[
                lambda app=app, customer=customer, code=code: services.device_activate(
                    pin=DEFAULT_PIN, customer=customer, code=code, public_key=app.public_key, device_name="Pixel"
                )
                for app in apps
            ],
            expected=(DomainError,),
        )
        assert sum(isinstance(outcome, AppDevice) for outcome in outcomes) == 1
        assert AppDevice.objects.filter(customer=customer).count() == 1


def test_wrong_codes_racing_each_count_a_try():
    customer = customer_factory()
    activation, code = _code(customer)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    run_together(
        *[
            lambda: services.device_activate(
                pin=DEFAULT_PIN, customer=customer, code=wrong, public_key=AppClient().public_key, device_name="x"
            )
            for _ in range(3)
        ],
        expected=(DomainError,),
    )
    activation.refresh_from_db()
    assert activation.attempts == 3


def test_a_request_id_sent_twice_at_once_passes_once():
    customer = customer_factory()
    _activation, code = _code(customer)
    app = AppClient()
    device = services.device_activate(
        pin=DEFAULT_PIN, customer=customer, code=code, public_key=app.public_key, device_name="x"
    )
    stamp, request_id = str(int(time.time())), uuid.uuid4().hex
    path = "/api/app/v1/device"
    message = signatures.canonical_string(method="GET", path=path, timestamp=stamp, request_id=request_id, body=b"")
    signature = signatures.sign(app.private_key, message)

    def send() -> AppDevice:
        return services.device_request_authenticate(
            device_id=str(device.public_id),
            timestamp=stamp,
            request_id=request_id,
            signature=signature,
            method="GET",
            path=path,
            body=b"",
        )

    outcomes = run_together(send, send, send, expected=(services.DeviceAuthFailure,))
    assert sum(isinstance(outcome, AppDevice) for outcome in outcomes) == 1
    assert [o.code for o in outcomes if isinstance(o, services.DeviceAuthFailure)] == ["replayed", "replayed"]
    assert DeviceRequestId.objects.filter(device=device).count() == 1


def test_an_unblock_racing_a_permanent_block_never_revives_the_device():
    customer = customer_factory()
    _activation, code = _code(customer)
    device = services.device_activate(
        pin=DEFAULT_PIN, customer=customer, code=code, public_key=AppClient().public_key, device_name="x"
    )
    holder = Actor(type="customer", id="1", label="user:1")
    services.device_block_temporarily(actor=holder, device=device)
    outcomes = run_together(
        lambda: services.device_block_permanently(actor=holder, device=device),
        lambda: services.device_unblock(actor=holder, device=device),
        expected=(DomainError,),
    )
    device.refresh_from_db()
    # Whichever runs first, the device ends blocked for good: either the unblock ran before the
    # permanent block, or it found the device already blocked for good and was refused. Without the
    # row lock the unblock could write "active" over the permanent block.
    assert device.state == "blocked_permanently"
    assert any(isinstance(outcome, AppDevice) and outcome.state == "blocked_permanently" for outcome in outcomes)


def test_wrong_pins_racing_each_count_and_the_third_blocks_once():
    customer = customer_factory()
    _activation, code = _code(customer)
    device = services.device_activate(
        pin=DEFAULT_PIN, customer=customer, code=code, public_key=AppClient().public_key, device_name="x"
    )
    outcomes = run_together(
        *[lambda: sessions.device_session_open(device=device, holder=None, pin="975310") for _ in range(3)],
        expected=(sessions.SessionRefused,),
    )
    device.refresh_from_db()
    # Without the row lock two of them could read the same count: three wrong PINs and no block.
    assert device.session_failures == 3 and device.state == "blocked_temporarily"
    assert sorted(outcome.code for outcome in outcomes) == ["device_blocked", "pin_invalid", "pin_invalid"]
    assert AuditEvent.objects.filter(action="devices.session.refused", object_id=str(device.pk)).count() == 3
    assert AuditEvent.objects.filter(action="devices.device.blocked", object_id=str(device.pk)).count() == 1
