"""The BS Pay app session: the device's signature AND the app PIN or a passkey (kartosfera/devices/sessions.py).

Played by AppClient with its automatic session off, so that every answer is the one the test sent for. Passkeys
answer through the software authenticator (real WebAuthn signatures) at rp_id "testserver", origin
"http://testserver": the test client's own host.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.contrib.auth.hashers import check_password
from django.test import override_settings
from django.utils import timezone, translation

from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.devices import services, sessions
from kartosfera.devices.models import AppDevice, BlockedBy, DeviceActivationCode, DeviceState
from kartosfera.devices.tests.app_client import BASE, DEFAULT_PIN, AppClient
from kartosfera.devices.tests.helpers import device_for
from kartosfera.notifications.backends import locmem
from kartosfera.sca.services import login_phone
from kartosfera.testing.passkeys_pages import passkey_add_directly
from kartosfera.testing.webauthn import SoftAuthenticator
from kartosfera.users.passkeys import (
    passkey_only_set,
    relying_party,
)

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
RP = relying_party(host="testserver", secure=False)
WRONG_PIN = "975310"

# Every endpoint that needs an open session (all but the activation and the session's own); the ids are any:
# the session is checked before the endpoint runs.
PROTECTED = [
    ("get", "/device"),
    ("get", "/cards"),
    ("post", "/cards/1/block"),
    ("get", "/blik"),
    ("post", "/blik/on"),
    ("post", "/blik/off"),
    ("post", "/cards/1/activate"),
    ("post", "/cards/1/unblock"),
    ("post", "/cards/1/limits"),
    ("post", "/cards/1/mobile-payments"),
    ("get", "/stop"),
    ("post", "/stop"),
    ("get", "/cards/1/tokens"),
    ("post", "/cards/1/tokens/1/suspend"),
    ("post", "/cards/1/tokens/1/resume"),
    ("get", "/confirmations/3f1c2a6e-9b4d-4c1e-8a7f-2d5e6b7c8d90"),
    ("post", "/confirmations/3f1c2a6e-9b4d-4c1e-8a7f-2d5e6b7c8d90"),
    ("post", "/confirmations/3f1c2a6e-9b4d-4c1e-8a7f-2d5e6b7c8d90/resend"),
    ("post", "/confirmations/3f1c2a6e-9b4d-4c1e-8a7f-2d5e6b7c8d90/cancel"),
    ("post", "/confirmations/3f1c2a6e-9b4d-4c1e-8a7f-2d5e6b7c8d90/passkey-options"),
    ("post", "/confirmations/3f1c2a6e-9b4d-4c1e-8a7f-2d5e6b7c8d90/passkey"),
    ("put", "/session/pin"),
]
OPEN = {("post", "/activations"), ("post", "/session"), ("delete", "/session"), ("post", "/session/passkey-options")}


@pytest.fixture
def app(cardholder) -> AppClient:
    """Anna's phone, activated with her PIN, no session open yet."""
    app = AppClient(auto_session=False)
    device_for(cardholder.customer, app=app)
    sessions.device_session_end(device=_device(app))
    app.session_open = False
    return app


def _device(app: AppClient) -> AppDevice:
    return AppDevice.objects.get(public_id=app.device_id)


def _actions(app: AppClient, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_id=str(_device(app).pk)).order_by("pk"))


def _add_passkey(user) -> SoftAuthenticator:
    return passkey_add_directly(user, name="Pixel")[1]


def _passkey_answer(app: AppClient, authenticator: SoftAuthenticator) -> str:
    response = app.post("/session/passkey-options")
    assert response.status_code == 200, response.content
    return authenticator.get(response.json()["options"])


# --- The PIN at activation ------------------------------------------------------------------------------------


def _activation_code(customer) -> str:
    activation = services.device_activation_code_issue(actor=SYSTEM, customer=customer)
    code = services.device_activation_code_reveal(actor=SYSTEM, activation=activation)
    assert code is not None
    return code


def test_the_activation_sets_the_pin_kept_only_as_a_password_hash(cardholder):
    app = AppClient(auto_session=False)
    response = app.activate(identifier=cardholder.identifier, code=_activation_code(cardholder.customer))
    assert response.status_code == 201, response.content
    device = _device(app)
    assert device.pin_hash and DEFAULT_PIN not in device.pin_hash
    assert check_password(DEFAULT_PIN, device.pin_hash) and not check_password(WRONG_PIN, device.pin_hash)
    assert DEFAULT_PIN not in json.dumps(list(AuditEvent.objects.values("before", "after")), default=str)
    # Activated is not signed in: the PIN opens the session.
    assert app.get("/device").json()["code"] == "session_required"
    assert app.open_session().status_code == 200
    assert app.get("/device").status_code == 200


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("111111", "zbyt łatwy do odgadnięcia"),
        ("123456", "zbyt łatwy do odgadnięcia"),
        ("654321", "zbyt łatwy do odgadnięcia"),
        ("890123", "zbyt łatwy do odgadnięcia"),
        ("12345", "dokładnie 6 cyfr"),
        ("12a456", "dokładnie 6 cyfr"),
        ("", "dokładnie 6 cyfr"),
    ],
)
def test_a_weak_or_malformed_pin_is_refused_before_the_code_is_tried(cardholder, pin, message):
    code = _activation_code(cardholder.customer)
    response = AppClient().activate(identifier=cardholder.identifier, code=code, pin=pin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "pin"
    assert message in response.json()["errors"][0]["message"]
    assert not AppDevice.objects.exists()
    assert DeviceActivationCode.objects.get().attempts == 0


def test_the_pin_rule_answers_in_the_apps_language(cardholder):
    code = _activation_code(cardholder.customer)
    app = AppClient()
    app.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "pl"
    response = app.activate(identifier=cardholder.identifier, code=code, pin="000000")
    assert response.status_code == 422
    with translation.override("pl"):
        expected = translation.gettext(
            "This PIN is too easy to guess. Do not use one digit six times or a run such as 123456."
        )
    assert response.json()["errors"][0]["message"] == expected


# --- No session, no access -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_every_protected_endpoint_needs_an_open_session(app, method, path):
    response = getattr(app, method)(path)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "session_required" and body["errors"] == []
    refused = _actions(app, "devices.request.refused")
    assert [event.after["reason"] for event in refused] == ["session_required"]


def test_the_list_of_protected_endpoints_is_every_operation_of_the_schema(client):
    schema = client.get(f"{BASE}/openapi.json").json()
    operations = {
        (method, path.removeprefix(BASE).replace("{card_id}", "1").replace("{token_id}", "1"))
        for path, item in schema["paths"].items()
        for method in item
    }
    listed = {(m, p.replace("3f1c2a6e-9b4d-4c1e-8a7f-2d5e6b7c8d90", "{confirmation_id}")) for m, p in PROTECTED}
    assert operations == listed | OPEN


# --- The PIN --------------------------------------------------------------------------------------------------


def test_the_right_pin_opens_the_session_and_resets_the_count(app):
    for left in (2, 1):
        response = app.open_session(pin=WRONG_PIN)
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "pin_invalid" and body["errors"][0]["field"] == "pin"
        assert f": {left}." in body["detail"]
    assert _device(app).session_failures == 2

    response = app.open_session()
    assert response.status_code == 200
    body = response.json()
    assert body["factor"] == "pin"
    started = dt.datetime.fromisoformat(body["started_at"])
    assert dt.datetime.fromisoformat(body["idle_expires_at"]) - started == dt.timedelta(minutes=5)
    assert dt.datetime.fromisoformat(body["expires_at"]) - started == dt.timedelta(hours=12)
    device = _device(app)
    assert device.session_failures == 0 and device.session_started_at is not None
    assert [e.after for e in _actions(app, "devices.session.refused")] == [
        {"reason": "pin_invalid", "failures": 1},
        {"reason": "pin_invalid", "failures": 2},
    ]
    assert [e.after for e in _actions(app, "devices.session.opened")][-1] == {"factor": "pin"}
    assert app.get("/device").status_code == 200
    # Counting starts again from nothing: two more wrong PINs do not block.
    app.open_session(pin=WRONG_PIN)
    app.open_session(pin=WRONG_PIN)
    assert _device(app).state == DeviceState.ACTIVE


def test_the_third_wrong_pin_in_a_row_blocks_the_device(app, cardholder):
    app.open_session(pin=WRONG_PIN)
    app.open_session(pin=WRONG_PIN)
    response = app.open_session(pin=WRONG_PIN)
    assert response.status_code == 403 and response.json()["code"] == "device_blocked"
    device = _device(app)
    assert device.state == DeviceState.BLOCKED_TEMPORARILY and device.blocked_by == BlockedBy.BANK
    assert device.block_reason == sessions.BLOCK_REASON and device.session_started_at is None
    assert len(_actions(app, "devices.session.refused")) == 3
    (blocked,) = _actions(app, "devices.device.blocked")
    assert blocked.actor_type == "system"
    # Blocked: even the right PIN is refused now, as every signed request is.
    response = app.open_session()
    assert response.status_code == 403 and response.json()["code"] == "device_blocked"
    # The bank unblocks it: the count starts again.
    services.device_unblock(actor=SYSTEM, device=device)
    assert _device(app).session_failures == 0
    assert app.open_session().status_code == 200


@pytest.mark.parametrize("body", [{}, {"pin": DEFAULT_PIN, "passkey": "{}"}, {"pin": None}])
def test_the_session_needs_exactly_one_factor(app, body):
    response = app.post("/session", body)
    assert response.status_code == 422 and response.json()["code"] == "validation_failed"
    assert _device(app).session_failures == 0


# --- Changing the PIN ------------------------------------------------------------------------------------------

NEW_PIN = "583016"


def test_the_holder_changes_the_pin_with_the_current_one_and_gets_an_sms(
    app, cardholder, django_capture_on_commit_callbacks
):
    app.open_session()
    locmem.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = app.put("/session/pin", {"current_pin": DEFAULT_PIN, "new_pin": NEW_PIN})
    assert response.status_code == 200, response.content
    assert response.json() == {"changed": True}
    device = _device(app)
    assert check_password(NEW_PIN, device.pin_hash) and not check_password(DEFAULT_PIN, device.pin_hash)
    (changed,) = _actions(app, "devices.pin.changed")
    assert changed.after == {"name": device.name}
    assert NEW_PIN not in json.dumps(list(AuditEvent.objects.values("before", "after")), default=str)
    (sms,) = locmem.outbox
    assert sms.to == login_phone(cardholder.user) and "BS Pay" in sms.text and NEW_PIN not in sms.text
    app.end_session()
    assert app.open_session().json()["code"] == "pin_invalid"
    assert app.open_session(pin=NEW_PIN).status_code == 200


def test_a_wrong_current_pin_counts_as_a_failed_opening_and_the_third_blocks(app):
    app.open_session(pin=WRONG_PIN)
    app.open_session()
    app.open_session(pin=WRONG_PIN)  # the right PIN in between reset the count: 1 now
    first = app.put("/session/pin", {"current_pin": WRONG_PIN, "new_pin": NEW_PIN})
    assert first.status_code == 422 and first.json()["code"] == "pin_invalid"
    assert first.json()["errors"][0]["field"] == "current_pin"
    blocked = app.put("/session/pin", {"current_pin": WRONG_PIN, "new_pin": NEW_PIN})
    assert blocked.status_code == 403 and blocked.json()["code"] == "device_blocked"
    assert _device(app).state == DeviceState.BLOCKED_TEMPORARILY
    assert check_password(DEFAULT_PIN, _device(app).pin_hash)
    assert not _actions(app, "devices.pin.changed")


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"current_pin": DEFAULT_PIN, "new_pin": "123456"}, "new_pin", "validation_failed"),
        ({"current_pin": DEFAULT_PIN, "new_pin": "12345"}, "new_pin", "validation_failed"),
        ({"current_pin": DEFAULT_PIN, "new_pin": DEFAULT_PIN}, "new_pin", "pin_unchanged"),
        ({"current_pin": DEFAULT_PIN}, "new_pin", "validation_failed"),
        ({"new_pin": NEW_PIN}, "current_pin", "validation_failed"),
    ],
)
def test_a_weak_missing_or_unchanged_new_pin_is_refused_without_counting(app, body, field, code):
    app.open_session(pin=WRONG_PIN)
    app.open_session()
    app.open_session(pin=WRONG_PIN)
    response = app.put("/session/pin", body)
    assert response.status_code == 422 and response.json()["code"] == code, response.content
    assert response.json()["errors"][0]["field"] == field
    # Not counted; the right current PIN of an unchanged one resets the count as a right opening does.
    assert _device(app).session_failures == (0 if code == "pin_unchanged" else 1)
    assert check_password(DEFAULT_PIN, _device(app).pin_hash)


def test_no_pin_to_change_without_one_or_under_passkey_only_and_nothing_counted(app, cardholder):
    authenticator = _add_passkey(cardholder.user)
    passkey_only_set(actor=Actor.for_user(cardholder.user), user=cardholder.user, enabled=True)
    assert app.post("/session", {"passkey": _passkey_answer(app, authenticator)}).status_code == 200
    refused = app.put("/session/pin", {"current_pin": WRONG_PIN, "new_pin": NEW_PIN})
    assert refused.status_code == 403 and refused.json()["code"] == "passkey_required"
    passkey_only_set(actor=Actor.for_user(cardholder.user), user=cardholder.user, enabled=False)
    # A device activated before app PINs existed gets one by activating again (the portal's password and code).
    AppDevice.objects.filter(pk=_device(app).pk).update(pin_hash="")
    unset = app.put("/session/pin", {"current_pin": WRONG_PIN, "new_pin": NEW_PIN})
    assert unset.status_code == 409 and unset.json()["code"] == "pin_not_set"
    assert _device(app).session_failures == 0 and _device(app).pin_hash == ""
    assert not _actions(app, "devices.pin.changed")


# --- Passkeys -------------------------------------------------------------------------------------------------


def test_a_passkey_opens_the_session(app, cardholder):
    authenticator = _add_passkey(cardholder.user)
    response = app.post("/session/passkey-options")
    assert response.status_code == 200
    options = response.json()["options"]
    assert options["userVerification"] == "required" and options["rpId"] == "testserver"
    assert [c["id"] for c in options["allowCredentials"]] == [authenticator.credential_id_b64]
    assert _device(app).passkey_challenge == options["challenge"]

    response = app.post("/session", {"passkey": authenticator.get(options)})
    assert response.status_code == 200, response.content
    assert response.json()["factor"] == "passkey"
    device = _device(app)
    assert device.session_started_at is not None and device.passkey_challenge == ""
    assert _actions(app, "devices.session.opened")[-1].after == {"factor": "passkey"}
    assert app.get("/cards").status_code == 200


def test_a_replayed_or_late_options_challenge_is_refused_without_costing_a_try(app, cardholder):
    authenticator = _add_passkey(cardholder.user)
    answer = _passkey_answer(app, authenticator)
    assert app.post("/session", {"passkey": answer}).status_code == 200
    app.end_session()

    # The same answer again: its challenge was used once.
    response = app.post("/session", {"passkey": answer})
    assert response.status_code == 409 and response.json()["code"] == "passkey_options_expired"
    assert response.json()["errors"][0]["field"] == "passkey"
    # A fresh answer after the 3 minutes.
    answer = _passkey_answer(app, authenticator)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3, seconds=1)):
        response = app.post("/session", {"passkey": answer})
    assert response.status_code == 409 and response.json()["code"] == "passkey_options_expired"
    # Nothing was checked, so nothing counts towards the block (a retry or a slow user is no guesser).
    assert _actions(app, "devices.session.refused") == []
    assert _device(app).session_failures == 0 and _device(app).session_started_at is None
    # New options, answered in time, open it.
    assert app.post("/session", {"passkey": _passkey_answer(app, authenticator)}).status_code == 200


def test_another_customers_passkey_is_refused_and_counted(app, cardholder, second_cardholder):
    _add_passkey(cardholder.user)
    strangers = _add_passkey(second_cardholder.user)
    response = app.post("/session", {"passkey": _passkey_answer(app, strangers)})
    assert response.status_code == 422 and response.json()["code"] == "passkey_refused"
    assert _device(app).session_failures == 1 and _device(app).session_started_at is None
    assert AuditEvent.objects.filter(
        action="users.passkey.use_refused", customer_id=cardholder.customer.pk, after__reason="unknown_credential"
    ).exists()


def test_three_refused_passkeys_block_the_device_as_pins_do(app, cardholder):
    _add_passkey(cardholder.user)
    forged = SoftAuthenticator()  # not registered anywhere
    for _ in range(2):
        assert app.post("/session", {"passkey": _passkey_answer(app, forged)}).status_code == 422
    response = app.post("/session", {"passkey": _passkey_answer(app, forged)})
    assert response.status_code == 403 and response.json()["code"] == "device_blocked"
    assert _device(app).state == DeviceState.BLOCKED_TEMPORARILY


def test_without_a_passkey_there_are_no_options(app):
    response = app.post("/session/passkey-options")
    assert response.status_code == 409 and response.json()["code"] == "no_passkey"


def test_passkey_only_refuses_the_pin_and_counts_nothing(app, cardholder):
    authenticator = _add_passkey(cardholder.user)
    passkey_only_set(actor=Actor.for_user(cardholder.user), user=cardholder.user, enabled=True)
    for pin in (DEFAULT_PIN, WRONG_PIN, WRONG_PIN, WRONG_PIN):
        response = app.open_session(pin=pin)
        assert response.status_code == 403 and response.json()["code"] == "passkey_required"
    device = _device(app)
    assert device.state == DeviceState.ACTIVE and device.session_failures == 0 and device.session_started_at is None
    assert app.post("/session", {"passkey": _passkey_answer(app, authenticator)}).status_code == 200


def test_the_level_3_deployment_refuses_the_pin_of_a_holder_with_a_passkey(app, cardholder, second_cardholder):
    with override_settings(PORTAL_PASSKEY_REQUIRED=True):
        # Without a passkey the PIN still works: it is how the holder gets in at all.
        assert app.open_session().status_code == 200
        app.end_session()
        _add_passkey(cardholder.user)
        response = app.open_session()
        assert response.status_code == 403 and response.json()["code"] == "passkey_required"


# --- Its lifetime ---------------------------------------------------------------------------------------------


def test_the_session_ends_after_5_idle_minutes_and_each_request_moves_the_stamp(app):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        assert app.open_session().status_code == 200
        for _ in range(3):
            clock.shift(dt.timedelta(minutes=4, seconds=59))
            assert app.get("/device").status_code == 200
        clock.shift(dt.timedelta(minutes=5))
        response = app.get("/device")
        assert response.status_code == 401 and response.json()["code"] == "session_required"
        assert "wygasła" in response.json()["detail"]  # "the app session has ended", in the app's Polish
        assert _device(app).session_started_at is None


def test_the_session_ends_12_hours_after_it_opened_however_busy(app):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        assert app.open_session().status_code == 200
        clock.shift(dt.timedelta(hours=12, seconds=-1))
        # Busy all along: the idle stamp is recent.
        AppDevice.objects.filter(public_id=app.device_id).update(session_seen_at=timezone.now())
        assert app.get("/device").status_code == 200
        clock.shift(dt.timedelta(seconds=1))
        response = app.get("/device")
        assert response.status_code == 401 and response.json()["code"] == "session_required"


def test_ending_the_session_in_the_app(app):
    assert app.open_session().status_code == 200
    ended = len(_actions(app, "devices.session.ended"))
    response = app.delete("/session")
    assert response.status_code == 200 and response.json() == {"open": False}
    assert len(_actions(app, "devices.session.ended")) == ended + 1
    assert app.get("/device").json()["code"] == "session_required"
    # Ending again is harmless, and writes nothing more.
    assert app.delete("/session").status_code == 200
    assert len(_actions(app, "devices.session.ended")) == ended + 1


def test_a_block_ends_the_session(app, cardholder):
    assert app.open_session().status_code == 200
    holder = Actor.for_user(cardholder.user)
    services.device_block_temporarily(actor=holder, device=_device(app))
    services.device_unblock(actor=holder, device=_device(app))
    assert app.get("/device").json()["code"] == "session_required"


def test_the_session_endpoints_need_the_devices_signature(app):
    for response in (
        app.client.post(f"{BASE}/session", data={"pin": DEFAULT_PIN}, content_type="application/json"),
        app.client.post(f"{BASE}/session/passkey-options"),
        app.client.delete(f"{BASE}/session"),
    ):
        assert response.status_code == 401 and response.json()["code"] == "signature_missing"
