"""The back office: the customer's BS Pay devices, and a staff block with a reason (the bank's block)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kartosfera.backoffice.tests.helpers import action_post_data, customer_action_url, phone_verify
from kartosfera.core.models import AuditEvent
from kartosfera.devices.models import BlockedBy, DeviceState
from kartosfera.devices.tests.helpers import device_for
from kartosfera.testing.staff import staff_client

pytestmark = pytest.mark.django_db


def test_the_customer_page_lists_the_devices_with_a_block_form(staff, cardholder):
    device = device_for(cardholder.customer, "Pixel Anny")
    person = staff["agent"]
    phone_verify(person, cardholder.customer)
    page = staff_client(person).get(reverse("backoffice:customer", args=[cardholder.customer.pk])).content.decode()
    assert f'data-device="{device.public_id}"' in page and "Pixel Anny" in page
    assert 'name="device_block-device"' in page


def test_the_auditor_sees_the_devices_but_no_block_form(staff, cardholder):
    device_for(cardholder.customer)
    page = staff_client(staff["auditor"]).get(reverse("backoffice:customer", args=[cardholder.customer.pk]))
    assert 'id="bs-pay-devices"' in page.content.decode()
    assert 'name="device_block-device"' not in page.content.decode()


def test_staff_block_a_device_for_good_with_a_reason(staff, cardholder):
    device = device_for(cardholder.customer)
    person = staff["agent"]
    phone_verify(person, cardholder.customer)
    data = action_post_data("device_block", reason="Phone stolen", device=str(device.public_id), permanently="on")
    response = staff_client(person).post(customer_action_url(cardholder.customer, "device_block"), data)
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.state == DeviceState.BLOCKED_PERMANENTLY
    assert device.blocked_by == BlockedBy.BANK and device.block_reason == "Phone stolen"
    assert AuditEvent.objects.filter(action="devices.device.blocked_permanently", actor_id=str(person.user.pk)).exists()
    assert AuditEvent.objects.get(action="backoffice.device_block").after["reason"] == "Phone stolen"


def test_another_customers_device_cannot_be_blocked_through_this_customer(staff, cardholder, second_cardholder):
    theirs = device_for(second_cardholder.customer)
    person = staff["agent"]
    phone_verify(person, cardholder.customer)
    data = action_post_data("device_block", device=str(theirs.public_id))
    response = staff_client(person).post(customer_action_url(cardholder.customer, "device_block"), data)
    assert response.status_code == 400
    theirs.refresh_from_db()
    assert theirs.state == DeviceState.ACTIVE
