"""The holder's BS Pay devices page: activation code after an SMS code, shown once; blocks; 404 for others."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.devices import services
from kartosfera.devices.models import DeviceActivationCode, DeviceState
from kartosfera.devices.tests.app_client import AppClient
from kartosfera.devices.tests.helpers import device_for
from kartosfera.profile.tests.conftest import ANNAS_PHONE
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to
from kartosfera.testing.factories import DEFAULT_PASSWORD

# The SMS goes after commit: the codes are read from the outbox of committed transactions.
pytestmark = pytest.mark.django_db(transaction=True)

INDEX = reverse("devices:index")
ACTIVATE = reverse("devices:activate")
SYSTEM = Actor.system("test")


def test_the_page_lists_the_holders_devices_only(anna, cardholder, second_cardholder):
    mine = device_for(cardholder.customer, "Pixel Anny")
    theirs = device_for(second_cardholder.customer, "iPhone Bartosza")
    response = anna.get(INDEX)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-device="{mine.public_id}"' in page and 'data-state="active"' in page
    assert str(theirs.public_id) not in page and "iPhone Bartosza" not in page


def test_anonymous_visitors_go_to_the_login_page(client):
    response = client.get(INDEX)
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_activation_code_needs_the_sms_code_and_is_shown_once(anna, cardholder):
    response = anna.post(ACTIVATE, {"current_password": DEFAULT_PASSWORD})
    challenge = challenge_from(response)
    assert not DeviceActivationCode.objects.exists()
    done = anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)})
    activation = DeviceActivationCode.objects.get(customer=cardholder.customer)
    assert done["Location"] == reverse("devices:activation_code", kwargs={"public_id": activation.public_id})
    challenge.refresh_from_db()
    assert challenge.completed_at is not None

    page = anna.get(done["Location"]).content.decode()
    shown = re.search(r'id="activation-code" data-code-shown="true"><strong>(\d{4}) (\d{4})</strong>', page)
    assert shown is not None
    code = shown.group(1) + shown.group(2)
    again = anna.get(done["Location"]).content.decode()
    assert 'data-code-shown="false"' in again and code not in again
    # The code shown works once in the app.
    app = AppClient()
    assert app.activate(identifier=cardholder.identifier, code=code).status_code == 201


def test_a_block_needs_no_code_and_unblocking_needs_one(anna, cardholder):
    device = device_for(cardholder.customer)
    response = anna.post(reverse("devices:block", kwargs={"public_id": device.public_id}))
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.state == DeviceState.BLOCKED_TEMPORARILY

    response = anna.post(reverse("devices:unblock", kwargs={"public_id": device.public_id}))
    challenge_from(response)
    device.refresh_from_db()
    assert device.state == DeviceState.BLOCKED_TEMPORARILY
    anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)})
    device.refresh_from_db()
    assert device.state == DeviceState.ACTIVE


def test_a_permanent_block_needs_the_confirmation(anna, cardholder):
    device = device_for(cardholder.customer)
    url = reverse("devices:block_permanently", kwargs={"public_id": device.public_id})
    assert anna.get(url).status_code == 200
    assert anna.post(url, {}).status_code == 200
    device.refresh_from_db()
    assert device.state == DeviceState.ACTIVE
    assert anna.post(url, {"confirm": "on"}).status_code == 302
    device.refresh_from_db()
    assert device.state == DeviceState.BLOCKED_PERMANENTLY
    assert AuditEvent.objects.filter(action="devices.device.blocked_permanently", customer_id=cardholder.customer.pk)


def test_somebody_elses_device_and_code_are_a_404_on_every_url(anna, cardholder, second_cardholder):
    theirs = device_for(second_cardholder.customer)
    activation = services.device_activation_code_issue(actor=SYSTEM, customer=second_cardholder.customer)
    kwargs = {"public_id": theirs.public_id}
    assert anna.post(reverse("devices:block", kwargs=kwargs)).status_code == 404
    assert anna.post(reverse("devices:unblock", kwargs=kwargs)).status_code == 404
    assert anna.get(reverse("devices:block_permanently", kwargs=kwargs)).status_code == 404
    assert anna.post(reverse("devices:block_permanently", kwargs=kwargs), {"confirm": "on"}).status_code == 404
    code_url = reverse("devices:activation_code", kwargs={"public_id": activation.public_id})
    assert anna.get(code_url).status_code == 404
    theirs.refresh_from_db()
    activation.refresh_from_db()
    assert theirs.state == DeviceState.ACTIVE and activation.code_ciphertext != ""


def test_wrong_methods_are_405(anna, cardholder):
    device = device_for(cardholder.customer)
    assert anna.post(INDEX).status_code == 405
    assert anna.get(ACTIVATE).status_code == 405
    assert anna.get(reverse("devices:block", kwargs={"public_id": device.public_id})).status_code == 405


def test_a_code_opened_after_its_10_minutes_is_not_shown(anna, cardholder):
    activation = services.device_activation_code_issue(actor=SYSTEM, customer=cardholder.customer)
    url = reverse("devices:activation_code", kwargs={"public_id": activation.public_id})
    # Its 10 minutes are over (moved in the row: travelling the clock would end the session too).
    DeviceActivationCode.objects.filter(pk=activation.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    page = anna.get(url).content.decode()
    assert 'data-code-shown="false"' in page and 'id="activation-code"' not in page
    activation.refresh_from_db()
    assert activation.shown_at is None
