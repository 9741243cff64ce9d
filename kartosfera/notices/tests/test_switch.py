"""Settings → Notifications: the holder switches the decline SMS off and on, without a code, audited."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kartosfera.core.models import AuditEvent
from kartosfera.notices.selectors import decline_sms_enabled

pytestmark = pytest.mark.django_db

URL = reverse("profile:notifications")
ACTION = "notices.decline_sms.changed"


def _checkbox(page: str) -> str:
    (tag,) = re.findall(r'<input[^>]*name="decline_sms"[^>]*>', page)
    return tag


def test_the_sms_is_on_until_the_holder_switches_it_off(anna, cardholder):
    assert "checked" in _checkbox(anna.get(URL).content.decode())
    assert decline_sms_enabled(customer=cardholder.customer)
    anna.post(URL, {})
    assert "checked" not in _checkbox(anna.get(URL).content.decode())


def test_switching_it_off_and_on_needs_no_code_and_is_audited_once_per_change(anna, cardholder):
    response = anna.post(URL, {"conversion_charge_sms": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("profile:index")
    assert 'id="decline-sms-state"' in response.content.decode()
    assert not decline_sms_enabled(customer=cardholder.customer)

    anna.post(URL, {"conversion_charge_sms": "on", "decline_sms": "on"})
    anna.post(URL, {"conversion_charge_sms": "on", "decline_sms": "on"})

    assert decline_sms_enabled(customer=cardholder.customer)
    events = list(AuditEvent.objects.filter(action=ACTION).order_by("id"))
    assert [(e.before, e.after) for e in events] == [
        ({"enabled": True}, {"enabled": False}),
        ({"enabled": False}, {"enabled": True}),
    ]
    assert {(e.customer_id, e.actor_id) for e in events} == {(cardholder.customer.pk, str(cardholder.user.pk))}
    # The other switch on the page was left as it was.
    assert not AuditEvent.objects.filter(action="customers.conversion_charge_sms.changed").exists()


def test_the_holder_switches_only_their_own(anna, cardholder, second_cardholder):
    anna.post(URL, {"conversion_charge_sms": "on"})
    assert not decline_sms_enabled(customer=cardholder.customer)
    assert decline_sms_enabled(customer=second_cardholder.customer)


def test_nobody_else_switches_it(client, staff_client, cardholder):
    assert client.post(URL, {})["Location"].startswith(reverse("users:login"))
    assert staff_client.post(URL, {}).status_code == 403
    assert decline_sms_enabled(customer=cardholder.customer)
    assert not AuditEvent.objects.filter(action=ACTION).exists()


def test_the_settings_page_says_whether_it_is_on(anna, cardholder):
    page = anna.get(reverse("profile:index")).content.decode()
    state = page.split('id="decline-sms-state">', 1)[1].split("</span>", 1)[0]
    anna.post(URL, {"conversion_charge_sms": "on"})
    page = anna.get(reverse("profile:index")).content.decode()
    assert page.split('id="decline-sms-state">', 1)[1].split("</span>", 1)[0] != state
