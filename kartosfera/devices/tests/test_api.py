"""The BS Pay app's API, played by AppClient: activation, signed requests and every refusal."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import time_machine
import werkzeug.test
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client

from kartosfera.blik.models import BlikChannel
from kartosfera.blik.selectors import blik_state
from kartosfera.blik.services import blik_switch_off
from kartosfera.cards.models import CardStatus
from kartosfera.cards.operations_services import card_activate
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.devices import services
from kartosfera.devices.models import AppDevice, DeviceRequestId, DeviceState
from kartosfera.devices.tests.app_client import BASE, AppClient
from kartosfera.devices.tests.app_client import DEFAULT_PIN as PIN
from kartosfera.devices.tests.helpers import session_open_for
from kartosfera.testing import factories
from kartosfera.testing.openapi import connection_kept, production_app

pytestmark = pytest.mark.django_db

HOLDER = Actor.system("portal")


def _code(customer) -> str:
    activation = services.device_activation_code_issue(actor=HOLDER, customer=customer)
    code = services.device_activation_code_reveal(actor=HOLDER, activation=activation)
    assert code is not None
    return code


@pytest.fixture
def app(cardholder) -> AppClient:
    """Anna's phone with the app activated."""
    app = AppClient()
    response = app.activate(identifier=cardholder.identifier, code=_code(cardholder.customer))
    assert response.status_code == 201, response.content
    session_open_for(app)
    return app


def _refusals(reason: str) -> int:
    return AuditEvent.objects.filter(action="devices.request.refused", after__reason=reason).count()


def test_the_app_activates_and_gets_its_device(cardholder):
    app = AppClient()
    response = app.activate(identifier=cardholder.identifier, code=_code(cardholder.customer), device_name=" Pixel  8 ")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Pixel 8" and body["state"] == "active"
    device = AppDevice.objects.get(public_id=body["id"])
    assert device.customer == cardholder.customer and device.public_key == app.public_key

    response = app.get("/device")
    assert response.status_code == 200
    assert response.json()["id"] == body["id"] and response.json()["last_seen_at"] is not None
    device.refresh_from_db()
    assert device.last_seen_at is not None


def test_a_wrong_code_gets_the_same_answer_as_an_unknown_identifier(cardholder):
    code = _code(cardholder.customer)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    response = AppClient().activate(identifier=cardholder.identifier, code=wrong)
    assert response.status_code == 422 and response.json()["code"] == "code_invalid"
    # An unknown identifier gets the same answer: nobody learns who is a customer (no tries left are named).
    unknown = AppClient().activate(identifier="00000000000", code=code)
    assert unknown.status_code == 422 and unknown.json() == response.json()


def test_bad_activation_input_is_a_422_not_a_500(cardholder):
    client = Client()
    for body in ({}, {"identifier": "x", "code": "1", "public_key": "AAAA", "device_name": "p"}):
        response = client.post(f"{BASE}/activations", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 422, response.content
    response = client.post(f"{BASE}/activations", data=b"{not json", content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("address", [None, ""], ids=["no REMOTE_ADDR", "empty REMOTE_ADDR"])
def test_an_activation_without_the_clients_address_is_counted_not_a_500(cardholder, address):
    # Found by schemathesis (test_openapi_conformance_app.py): WSGI does not require REMOTE_ADDR, and a proxy on
    # a Unix socket leaves it empty; django-ratelimit's own "ip" key then raised (500). They share one bucket.
    environ = {} if address is None else {"REMOTE_ADDR": address}
    client = werkzeug.test.Client(production_app())
    body = {"identifier": cardholder.identifier, "code": "12345678", "public_key": AppClient().public_key, "pin": PIN}
    with connection_kept():
        statuses = [
            client.post(f"{BASE}/activations", json={**body, "device_name": "Pixel"}, environ_base=environ).status_code
            for _ in range(11)
        ]
    assert statuses == [422] * 10 + [429]


def test_the_activation_endpoint_is_rate_limited(cardholder):
    for _ in range(10):
        AppClient().activate(identifier=cardholder.identifier, code="12345678")
    response = AppClient().activate(identifier=cardholder.identifier, code="12345678")
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"


def test_the_app_lists_the_holders_cards_with_the_last_4_digits_only(app, cardholder, second_cardholder):
    card = factories.card_factory(customer=cardholder.customer)
    factories.card_factory(customer=second_cardholder.customer)
    response = app.get("/cards")
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": card.pk,
            "last4": card.pan_last4,
            "product": card.product.name,
            "brand": card.product.brand,
            "state": "inactive",
            "expiry": card.expiry.strftime("%Y-%m"),
            "currency": card.product.currency,
            "limits": card.controls.limits_minor(),
            "mobile_payments": False,
        }
    ]
    assert card.pan_fingerprint not in response.content.decode()


def test_the_app_blocks_a_card_temporarily_with_the_portals_service(app, cardholder):
    card = factories.card_factory(customer=cardholder.customer)
    card_activate(actor=HOLDER, card=card)
    response = app.post(f"/cards/{card.pk}/block")
    assert response.status_code == 200 and response.json()["state"] == "blocked"
    card.refresh_from_db()
    assert card.status == CardStatus.BLOCKED
    event = AuditEvent.objects.filter(object_type="cards.card", object_id=str(card.pk)).latest("pk")
    assert event.actor_id == f"device:{app.device_id}"
    # Blocking again is a refusal in words, not a 500.
    response = app.post(f"/cards/{card.pk}/block")
    assert response.status_code in {409, 422} and response.json()["detail"]


def test_another_customers_card_is_a_404_through_the_app(app, second_cardholder):
    card = factories.card_factory(customer=second_cardholder.customer)
    card_activate(actor=HOLDER, card=card)
    response = app.post(f"/cards/{card.pk}/block")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    card.refresh_from_db()
    assert card.status == CardStatus.ACTIVE


def test_an_unsigned_request_is_a_401(app):
    response = Client().get(f"{BASE}/device")
    assert response.status_code == 401 and response.json()["code"] == "signature_missing"
    assert _refusals("signature_missing") == 1


def test_an_unknown_device_is_a_401(app):
    stranger = AppClient()
    stranger.device_id = "7d0c1a2e-9d1b-4c55-9a8e-1f2a3b4c5d6e"
    response = stranger.get("/device")
    assert response.status_code == 401 and response.json()["code"] == "unknown_device"
    assert _refusals("unknown_device") == 1


def test_a_signature_by_another_key_is_a_401(app):
    response = app.get("/device", key=Ed25519PrivateKey.generate())
    assert response.status_code == 401 and response.json()["code"] == "signature_invalid"
    assert "WWW-Authenticate" in response
    assert _refusals("signature_invalid") == 1


def test_a_tampered_body_or_path_is_a_401(app, cardholder):
    card = factories.card_factory(customer=cardholder.customer)
    full = f"{BASE}/cards/{card.pk}/block"
    headers = app.signed_headers("POST", full, b'{"a": 1}')
    response = app.client.post(full, data=b'{"a": 2}', content_type="application/json", **headers)
    assert response.status_code == 401 and response.json()["code"] == "signature_invalid"
    headers = app.signed_headers("GET", f"{BASE}/cards")
    response = app.client.get(f"{BASE}/device", **headers)
    assert response.status_code == 401 and response.json()["code"] == "signature_invalid"


def test_a_replayed_request_is_a_401(app):
    headers = app.signed_headers("GET", f"{BASE}/device")
    assert app.client.get(f"{BASE}/device", **headers).status_code == 200
    response = app.client.get(f"{BASE}/device", **headers)
    assert response.status_code == 401 and response.json()["code"] == "replayed"
    assert _refusals("replayed") == 1
    assert DeviceRequestId.objects.count() == 1


def test_a_timestamp_more_than_5_minutes_off_is_a_401(app):
    # The clock stands still: on a busy machine a second between reading it and the request moved the boundary.
    with time_machine.travel(time.time(), tick=False):
        now = int(time.time())
        assert app.get("/device", timestamp=now - 299).status_code == 200
        for stamp in (now - 301, now + 301):
            response = app.get("/device", timestamp=stamp)
            assert response.status_code == 401 and response.json()["code"] == "clock_skew"
    response = app.get("/device", timestamp=10**20)
    assert response.status_code == 401 and response.json()["code"] == "clock_skew"
    assert _refusals("clock_skew") == 3


def test_a_bad_request_id_is_a_401(app):
    response = app.get("/device", request_id="short")
    assert response.status_code == 401 and response.json()["code"] == "request_id_invalid"


def test_a_blocked_device_is_a_403_at_once(app):
    device = AppDevice.objects.get(public_id=app.device_id)
    services.device_block_temporarily(actor=HOLDER, device=device, reason="test")
    response = app.get("/cards")
    assert response.status_code == 403 and response.json()["code"] == "device_blocked"
    assert _refusals("device_blocked") == 1
    services.device_unblock(actor=HOLDER, device=device)
    assert app.get("/cards").status_code == 200
    services.device_block_permanently(actor=HOLDER, device=device, reason="test")
    assert app.get("/cards").status_code == 403


def test_a_permanently_blocked_phone_activates_again_as_a_new_device(app, cardholder):
    device = AppDevice.objects.get(public_id=app.device_id)
    services.device_block_permanently(actor=HOLDER, device=device, reason="test")
    again = AppClient()
    response = again.activate(identifier=cardholder.identifier, code=_code(cardholder.customer))
    assert response.status_code == 201 and response.json()["id"] != app.device_id
    assert again.get("/device").status_code == 200
    assert AppDevice.objects.filter(customer=cardholder.customer, state=DeviceState.ACTIVE).count() == 1


def test_request_ids_are_purged_by_the_command(app):
    from django.core.management import call_command

    app.get("/device")
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=11)):
        call_command("purge_device_request_ids")
        call_command("purge_device_request_ids")
    assert DeviceRequestId.objects.count() == 0


def test_the_schema_is_served_and_documents_the_signature():
    response = Client().get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert {"/api/app/v1/activations", "/api/app/v1/device", "/api/app/v1/cards"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["DeviceSignature"]["name"] == "X-Device-Id"
    assert "KARTOSFERA-APP-V1" in schema["info"]["description"]
    assert Client().get(f"{BASE}/").status_code == 200


def test_a_wrong_method_is_a_json_405(app):
    response = Client().delete(f"{BASE}/cards")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_the_app_switches_blik_on_again_by_a_signed_request_and_off_too(app, cardholder):
    blik_switch_off(actor=HOLDER, customer=cardholder.customer, channel=BlikChannel.PORTAL)
    assert app.get("/blik").json()["enabled"] is False

    response = app.post("/blik/on")

    assert response.status_code == 200 and response.json()["enabled"] is True
    newest = blik_state(cardholder.customer).history[0].change
    device = AppDevice.objects.get(public_id=app.device_id)
    assert (newest.enabled, newest.channel, newest.detail) == (True, BlikChannel.APP, device.name)
    event = AuditEvent.objects.get(action="blik.service.switched_on")
    assert event.actor_id == f"device:{app.device_id}"
    assert app.post("/blik/off").json()["enabled"] is False
    # Unsigned, nobody switches it on.
    assert Client().post(f"{BASE}/blik/on").status_code == 401
    assert blik_state(cardholder.customer).enabled is False


def test_a_blocked_device_cannot_switch_blik_on(app, cardholder):
    blik_switch_off(actor=HOLDER, customer=cardholder.customer, channel=BlikChannel.PORTAL)
    services.device_block_temporarily(actor=HOLDER, device=AppDevice.objects.get(public_id=app.device_id), reason="x")
    assert app.post("/blik/on").status_code == 403
    assert blik_state(cardholder.customer).enabled is False
