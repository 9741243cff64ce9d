"""Settings → Notifications: the cardholder switches the CBPR2 message about conversion charges off and on."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer

pytestmark = pytest.mark.django_db

URL = reverse("profile:notifications")
ACTION = "customers.conversion_charge_sms.changed"


def sms_on(person) -> bool:
    return Customer.objects.get(pk=person.customer.pk).conversion_charge_sms


def test_the_message_is_on_until_the_holder_switches_it_off(anna, cardholder):
    page = anna.get(URL).content.decode()

    assert 'name="conversion_charge_sms"' in page and "checked" in page
    assert "Raz w miesiącu dla każdej karty i waluty" in page
    assert sms_on(cardholder)


def test_switching_it_off_is_saved_audited_and_shown_on_the_settings_page(anna, cardholder):
    response = anna.post(URL, {}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("profile:index")
    page = response.content.decode()
    assert "Ustawienia powiadomień zostały zapisane." in page
    assert "SMS-y o kosztach przewalutowania" in page and "Wyłączone." in page
    assert not sms_on(cardholder)
    event = AuditEvent.objects.get(action=ACTION)
    assert (event.before, event.after) == ({"enabled": True}, {"enabled": False})
    assert event.customer_id == cardholder.customer.pk and event.actor_id == str(cardholder.user.pk)
    assert 'name="conversion_charge_sms"' in anna.get(URL).content.decode()
    assert "checked" not in anna.get(URL).content.decode()


def test_switching_it_on_again_is_audited_and_saving_without_a_change_is_not(anna, cardholder):
    anna.post(URL, {})
    anna.post(URL, {"conversion_charge_sms": "on"})
    anna.post(URL, {"conversion_charge_sms": "on"})

    assert sms_on(cardholder)
    assert [e.after["enabled"] for e in AuditEvent.objects.filter(action=ACTION).order_by("id")] == [False, True]


def test_the_holder_changes_only_their_own_setting(anna, cardholder, second_cardholder):
    anna.post(URL, {})

    assert not sms_on(cardholder)
    assert sms_on(second_cardholder)


def test_the_page_is_for_signed_in_cardholders_only(client, staff_client, cardholder):
    assert client.get(URL)["Location"].startswith(reverse("users:login"))
    assert client.post(URL, {})["Location"].startswith(reverse("users:login"))
    assert staff_client.post(URL, {}).status_code == 403
    assert sms_on(cardholder)
    assert not AuditEvent.objects.filter(action=ACTION).exists()


def test_the_form_needs_the_csrf_token_and_refuses_other_methods(anna, cardholder):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cardholder.user)

    assert strict.post(URL, {}).status_code == 403
    assert anna.put(URL).status_code == 405
    assert sms_on(cardholder)


def test_english_too_and_never_stored(anna):
    anna.cookies["django_language"] = "en"
    response = anna.get(URL, HTTP_ACCEPT_LANGUAGE="en")

    assert "Send me a text message about the currency conversion charge" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
