"""BLIK: off from every channel at once, on only from the app, its history, the BLIK system told the newest state."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from kartosfera.backoffice.tests.helpers import action_post_data, customer_action_url, phone_verify
from kartosfera.blik.client import HttpBlikSystem
from kartosfera.blik.models import BlikChange, BlikChannel, BlikService, SyncStatus
from kartosfera.blik.selectors import blik_state
from kartosfera.blik.services import BlikOnOnlyInApp, blik_switch_off, blik_switch_on
from kartosfera.blik.sync import blik_sync, blik_sync_due
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.testing.staff import staff_client
from kartosfera.testing.tasks import Queued

pytestmark = pytest.mark.django_db
HOLDER = Actor.system("test holder")


class _BlikSystem(BaseHTTPRequestHandler):
    """A BLIK system on a real socket: answers with the queued statuses, records what it was sent."""

    answers: list[int] = []
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"body": json.loads(body), "authorization": self.headers.get("Authorization")})
        status = type(self).answers.pop(0) if type(self).answers else 200
        payload = json.dumps({"reference": f"B-{len(type(self).received)}"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def blik_system(settings) -> Iterator[type[_BlikSystem]]:
    _BlikSystem.answers, _BlikSystem.received = [], []
    server = HTTPServer(("127.0.0.1", 0), _BlikSystem)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.BLIK_SYSTEM_BACKEND = "http"
    settings.BLIK_SYSTEM_URL = f"http://127.0.0.1:{server.server_port}/state"
    settings.BLIK_SYSTEM_TOKEN = "blik-secret"
    settings.BLIK_SYNC_MAX_ATTEMPTS = 3
    yield _BlikSystem
    server.shutdown()
    server.server_close()


def test_blik_is_on_until_switched_off_and_off_from_any_channel_at_once(cardholder, django_capture_on_commit_callbacks):
    customer = cardholder.customer
    assert blik_state(customer).enabled and blik_state(customer).history == []

    with django_capture_on_commit_callbacks(execute=True):
        service = blik_switch_off(actor=HOLDER, customer=customer, channel=BlikChannel.PORTAL)

    assert not service.enabled and service.version == 1
    state = blik_state(customer)
    assert not state.enabled
    assert [(row.change.enabled, row.change.channel, row.sync_status) for row in state.history] == [
        (False, BlikChannel.PORTAL, SyncStatus.SYNCED)  # the log backend took it
    ]
    event = AuditEvent.objects.get(action="blik.service.switched_off")
    assert event.customer_id == customer.pk and event.after["channel"] == "portal"
    assert AuditEvent.objects.filter(action="blik.sync.confirmed").count() == 1

    # Off again: nothing changes, nothing is recorded or sent.
    blik_switch_off(actor=HOLDER, customer=customer, channel=BlikChannel.BACK_OFFICE, detail="lost phone")
    assert BlikChange.objects.count() == 1
    assert AuditEvent.objects.filter(action="blik.service.switched_off").count() == 1


@pytest.mark.parametrize("channel", [BlikChannel.PORTAL, BlikChannel.BACK_OFFICE])
def test_blik_is_switched_on_only_from_the_app(cardholder, channel):
    customer = cardholder.customer
    blik_switch_off(actor=HOLDER, customer=customer, channel=BlikChannel.PORTAL)
    with pytest.raises(BlikOnOnlyInApp):
        blik_switch_on(actor=HOLDER, customer=customer, channel=channel)
    assert not blik_state(customer).enabled

    blik_switch_on(actor=HOLDER, customer=customer, channel=BlikChannel.APP, detail="Pixel 8")
    state = blik_state(customer)
    assert state.enabled
    newest = state.history[0].change
    assert (newest.enabled, newest.channel, newest.detail) == (True, BlikChannel.APP, "Pixel 8")
    assert AuditEvent.objects.filter(action="blik.service.switched_on").count() == 1


def test_the_database_refuses_a_switch_on_recorded_from_another_channel(cardholder):
    service = BlikService.objects.create(customer=cardholder.customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        BlikChange.objects.create(service=service, version=1, enabled=True, channel=BlikChannel.PORTAL)


def test_the_blik_system_gets_the_newest_state_with_its_version_and_token(cardholder, blik_system):
    customer = cardholder.customer
    # Off, then on from the app before the first delivery ran: one delivery of the newest state is enough.
    blik_switch_off(actor=HOLDER, customer=customer, channel=BlikChannel.PORTAL)
    service = blik_switch_on(actor=HOLDER, customer=customer, channel=BlikChannel.APP)

    synced = blik_sync(service_id=service.pk)

    assert synced is not None and synced.sync_status == SyncStatus.SYNCED and synced.synced_version == 2
    [sent] = blik_system.received
    assert sent["authorization"] == "Bearer blik-secret"
    assert sent["body"]["customer"] == customer.reference
    assert (sent["body"]["enabled"], sent["body"]["version"]) == (True, 2)
    assert sent["body"]["banks"] == sorted(customer.memberships.values_list("bank__code", flat=True))
    # Nothing more to send: a second run sends nothing.
    blik_sync(service_id=service.pk)
    assert len(blik_system.received) == 1


def test_a_blik_system_that_fails_is_retried_then_marked_failed_and_sent_again_by_the_command(
    cardholder, blik_system, django_capture_on_commit_callbacks
):
    customer = cardholder.customer
    blik_system.answers = [503, 503, 503]
    service = blik_switch_off(actor=HOLDER, customer=customer, channel=BlikChannel.PORTAL)

    # The immediate task backend runs each retry at once, after commit: three tries, then failed.
    with django_capture_on_commit_callbacks(execute=True):
        blik_sync(service_id=service.pk)

    service.refresh_from_db()
    assert service.sync_status == SyncStatus.FAILED and service.sync_attempts == 3
    assert service.synced_version == 0 and service.sync_error == "HTTP 503"
    assert blik_state(customer).history[0].sync_status == SyncStatus.FAILED
    assert AuditEvent.objects.filter(action="blik.sync.failed").count() == 1

    # The system is back: the command sends what it has not confirmed.
    call_command("blik_sync", stdout=io.StringIO())
    service.refresh_from_db()
    assert service.sync_status == SyncStatus.SYNCED and service.synced_version == 1
    assert len(blik_system.received) == 4
    assert blik_sync_due() == 0


def test_a_refusal_of_the_blik_system_is_not_retried(cardholder, blik_system):
    blik_system.answers = [400]
    service = blik_switch_off(actor=HOLDER, customer=cardholder.customer, channel=BlikChannel.PORTAL)
    blik_sync(service_id=service.pk)
    service.refresh_from_db()
    assert service.sync_status == SyncStatus.FAILED and service.sync_attempts == 1
    assert len(blik_system.received) == 1


def test_the_http_client_refuses_a_url_with_credentials_or_another_scheme():
    with pytest.raises(ImproperlyConfigured):
        HttpBlikSystem(url="https://user:secret@blik.example/state")
    with pytest.raises(ImproperlyConfigured):
        HttpBlikSystem(url="ftp://blik.example/state")


# --- the portal ---------------------------------------------------------------------------------------------


@pytest.fixture
def anna(client, cardholder) -> Client:
    client.force_login(cardholder.user)
    return client


def test_the_holder_switches_blik_off_in_the_portal_with_no_code_and_sees_the_history(anna, cardholder):
    page = anna.get(reverse("blik:index"))
    assert page.status_code == 200
    assert 'data-enabled="true"' in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]

    response = anna.post(reverse("blik:index"))

    assert response.status_code == 302 and response["Location"] == reverse("blik:index")
    assert not blik_state(cardholder.customer).enabled
    page = anna.get(reverse("blik:index")).content.decode()
    assert 'id="blik-state"' in page and 'data-enabled="false"' in page
    assert 'id="blik-off"' not in page  # nothing to switch on here: only the app can
    assert 'id="blik-change-1"' in page
    event = AuditEvent.objects.get(action="blik.service.switched_off")
    assert event.actor_id == str(cardholder.user.pk)


def test_the_page_shows_only_the_holders_own_blik(anna, cardholder, second_cardholder):
    blik_switch_off(actor=HOLDER, customer=second_cardholder.customer, channel=BlikChannel.PORTAL)
    page = anna.get(reverse("blik:index")).content.decode()
    assert 'data-enabled="true"' in page and 'id="blik-change-1"' not in page
    anna.post(reverse("blik:index"))
    assert not blik_state(cardholder.customer).enabled
    assert BlikService.objects.get(customer=second_cardholder.customer).version == 1  # untouched


def test_the_page_needs_a_signed_in_cardholder(client):
    response = client.post(reverse("blik:index"))
    assert response.status_code == 302 and "/login" in response["Location"]
    assert not BlikService.objects.exists()


# --- the back office ----------------------------------------------------------------------------------------


def test_staff_switch_blik_off_with_a_reason_and_see_the_history(staff, cardholder):
    phone_verify(staff["agent"], cardholder.customer)
    agent = staff_client(staff["agent"])
    customer = cardholder.customer

    response = agent.post(
        customer_action_url(customer, "blik_switch_off"), action_post_data("blik_switch_off", reason="Lost phone")
    )

    assert response.status_code == 302
    state = blik_state(customer)
    assert not state.enabled
    assert (state.history[0].change.channel, state.history[0].change.detail) == (BlikChannel.BACK_OFFICE, "Lost phone")
    assert AuditEvent.objects.filter(action="backoffice.blik_switch_off", customer_id=customer.pk).exists()
    page = agent.get(reverse("backoffice:customer", args=[customer.pk])).content.decode()
    assert 'data-enabled="false"' in page and "Lost phone" in page
    # Not offered once off, and refused if posted anyway.
    assert "blik_switch_off" not in page
    again = agent.post(
        customer_action_url(customer, "blik_switch_off"), action_post_data("blik_switch_off", reason="Again")
    )
    assert again.status_code == 400  # not offered: refused
    assert BlikChange.objects.count() == 1


def test_an_auditor_cannot_switch_blik_off(staff, cardholder):
    auditor = staff_client(staff["auditor"])
    response = auditor.post(
        customer_action_url(cardholder.customer, "blik_switch_off"), action_post_data("blik_switch_off")
    )
    assert response.status_code in {403, 404}
    assert blik_state(cardholder.customer).enabled


@pytest.mark.django_db(transaction=True)
def test_a_switch_is_queued_after_its_commit_and_synced_by_each_production_queue(cardholder, blik_system, task_queue):
    service = blik_switch_off(actor=HOLDER, customer=cardholder.customer, channel=BlikChannel.PORTAL)

    # Only the service's id on the queue; nothing sent before the worker runs.
    assert task_queue.queued() == [Queued("blik_sync_task", args=[service.pk], run_after=None)]
    assert blik_system.received == []
    task_queue.work()

    service.refresh_from_db()
    assert service.sync_status == SyncStatus.SYNCED and service.synced_version == 1
    assert [sent["body"]["enabled"] for sent in blik_system.received] == [False]
