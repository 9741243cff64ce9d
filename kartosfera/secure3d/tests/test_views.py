from __future__ import annotations

import logging
import re

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.core.audit import Actor
from kartosfera.profile.tests.conftest import ANNAS_PHONE
from kartosfera.sca.models import ChallengeState
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to, texts_to, wrong
from kartosfera.secure3d import services
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant

pytestmark = pytest.mark.django_db(transaction=True)

INDEX = reverse("secure3d:index")
PIN_URL = reverse("secure3d:pin")
EXEMPTION = reverse("secure3d:exemption")
ADD = reverse("secure3d:merchant_add")
MERCHANT = {"name": "Księgarnia Nova", "merchant_id": "MID-000123", "country": "PL"}


def _profile(person) -> ThreeDSProfile:
    return ThreeDSProfile.objects.get(customer=person.customer)


def test_the_page_shows_the_state_without_any_secret(anna, cardholder):
    page = anna.get(INDEX).content.decode()
    assert "+48 *** *** 111" in page and ANNAS_PHONE not in page
    assert 'id="pin-state"' in page
    assert reverse("secure3d:pin") in page and ADD in page


def test_anonymous_visitors_go_to_the_login_page(client):
    for url in (INDEX, PIN_URL):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_are_refused(staff_client):
    assert staff_client.get(INDEX).status_code == 403
    assert staff_client.post(EXEMPTION, {"enabled": "off"}).status_code == 403


def test_wrong_methods_are_405(anna):
    assert anna.post(INDEX).status_code == 405
    assert anna.get(EXEMPTION).status_code == 405
    assert anna.get(ADD).status_code == 405
    assert anna.put(PIN_URL).status_code == 405


def test_posts_need_the_csrf_token(cardholder):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cardholder.user)
    assert client.post(EXEMPTION, {"enabled": "off"}).status_code == 403
    assert client.post(PIN_URL, {"pin": "5830", "pin_repeat": "5830"}).status_code == 403


def test_setting_the_pin_needs_the_sms_code(anna, cardholder):
    response = anna.post(PIN_URL, {"pin": "5830", "pin_repeat": "5830"})
    challenge = challenge_from(response)
    assert list(challenge.payload) == ["pin_hash"] and check_password("5830", challenge.payload["pin_hash"])
    assert not ThreeDSProfile.objects.filter(customer=cardholder.customer).exclude(pin_hash="").exists()
    assert _("setting the 3-D Secure code") in texts_to(ANNAS_PHONE)[-1]

    # A wrong code runs nothing.
    anna.post(response["Location"], {"code": wrong(code_sent_to(ANNAS_PHONE))})
    assert not ThreeDSProfile.objects.filter(customer=cardholder.customer).exclude(pin_hash="").exists()

    done = anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)}, follow=True)
    assert done.redirect_chain[-1][0] == INDEX
    assert check_password("5830", _profile(cardholder).pin_hash)
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.CONFIRMED and "pin_hash" not in challenge.payload


def test_the_pin_form_refuses_bad_pins_with_reasons(anna, cardholder):
    response = anna.post(PIN_URL, {"pin": "1234", "pin_repeat": "1234"})
    assert response.status_code == 200
    assert _("The 3-D Secure code must not be a run of consecutive digits, such as 1234 or 4321.") in (
        response.content.decode()
    )
    response = anna.post(PIN_URL, {"pin": "5830", "pin_repeat": "5831"})
    assert _("The two codes are not the same.") in response.content.decode()
    # The PIN is never rendered back.
    assert 'value="5830"' not in response.content.decode()
    assert 'autocomplete="off"' in response.content.decode() and 'inputmode="numeric"' in response.content.decode()
    assert anna.post(PIN_URL, {"pin": "x" * 500}).status_code == 200
    assert not texts_to(ANNAS_PHONE)


def test_switching_the_exemption_off_is_immediate_and_on_needs_the_code(anna, cardholder):
    response = anna.post(EXEMPTION, {"enabled": "off"})
    assert response.status_code == 302 and response["Location"] == INDEX
    assert _profile(cardholder).low_value_exemption is False
    assert not texts_to(ANNAS_PHONE)

    response = anna.post(EXEMPTION, {"enabled": "on"})
    challenge_from(response)
    assert _profile(cardholder).low_value_exemption is False
    anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)})
    assert _profile(cardholder).low_value_exemption is True


def test_a_bad_exemption_value_is_a_message_not_a_500(anna):
    response = anna.post(EXEMPTION, {"enabled": "maybe"}, follow=True)
    assert response.status_code == 200
    assert _("The request was not valid. Try again.") in response.content.decode()


def test_adding_a_merchant_needs_the_code_and_removing_does_not(anna, cardholder):
    response = anna.post(ADD, MERCHANT)
    challenge_from(response)
    assert not TrustedMerchant.objects.exists()
    assert "Ksiegarnia Nova" in texts_to(ANNAS_PHONE)[-1]  # the SMS is GSM-7
    anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)})
    merchant = TrustedMerchant.objects.get(customer=cardholder.customer)
    assert merchant.merchant_id == "MID-000123"

    # The same merchant again is refused before any code is sent.
    sent = len(texts_to(ANNAS_PHONE))
    again = anna.post(ADD, MERCHANT)
    assert again.status_code == 400 and len(texts_to(ANNAS_PHONE)) == sent

    removed = anna.post(reverse("secure3d:merchant_remove", args=[merchant.pk]))
    assert removed.status_code == 302 and not TrustedMerchant.objects.exists()
    assert len(texts_to(ANNAS_PHONE)) == sent


def test_bad_merchant_input_is_shown_not_a_500(anna):
    response = anna.post(ADD, {"name": "", "merchant_id": "a b", "country": "ZZ"})
    assert response.status_code == 400
    body = response.content.decode()
    assert _("Enter the country as a two-letter ISO code, e.g. PL.") in body
    assert not texts_to(ANNAS_PHONE)


def test_somebody_elses_merchant_is_a_404(anna, bob, second_cardholder):
    merchant = services.trusted_merchant_add(actor=Actor.system(), customer=second_cardholder.customer, **MERCHANT)
    assert anna.post(reverse("secure3d:merchant_remove", args=[merchant.pk])).status_code == 404
    assert anna.post(reverse("secure3d:merchant_remove", args=[999999])).status_code == 404
    assert TrustedMerchant.objects.filter(pk=merchant.pk).exists()


def test_the_lock_is_shown(anna, cardholder):
    now = timezone.now()
    for _i in range(3):
        services.threeds_failure_record(customer=cardholder.customer, now=now)
    page = anna.get(INDEX).content.decode()
    assert 'id="threeds-locked"' in page
    assert _profile(cardholder).locked_until > now


def test_the_pin_is_nowhere_in_clear_in_the_database_nor_the_logs(anna, cardholder, caplog):
    pin = "8264"
    with caplog.at_level(logging.DEBUG):
        response = anna.post("/3d-secure/pin/", {"pin": pin, "pin_repeat": pin})
        anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)})
    assert check_password(pin, ThreeDSProfile.objects.get(customer=cardholder.customer).pin_hash)
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                quoted_table = connection.ops.quote_name(table)
                quoted_column = connection.ops.quote_name(column.name)
                cursor.execute(f"SELECT {quoted_column} FROM {quoted_table}")  # noqa: S608 - introspected names
                for (value,) in cursor.fetchall():
                    # As a token of its own: four random digits turn up inside timestamps and hashes.
                    if value is not None and re.search(rf"(?<![0-9A-Za-z+/]){pin}(?![0-9A-Za-z+/])", str(value)):
                        found.append(f"{table}.{column.name}")
    assert found == []
    assert not re.search(rf"(?<![0-9]){pin}(?![0-9])", caplog.text)
