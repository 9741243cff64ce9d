from __future__ import annotations

import logging
import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_activate
from kartosfera.cards.pin import (
    pin_matches,
    pin_verification_values,
    threeds_pin_verification_value,
    threeds_pin_verification_values,
)
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.demo.identifiers import make_pan
from kartosfera.profile.tests.conftest import ANNAS_PHONE
from kartosfera.sca.models import ChallengeState
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to, texts_to, wrong
from kartosfera.secure3d import services
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db(transaction=True)

INDEX = reverse("secure3d:index")
PIN_URL = reverse("secure3d:pin")
EXEMPTION = reverse("secure3d:exemption")
ADD = reverse("secure3d:merchant_add")
MERCHANT = {"name": "Księgarnia Nova", "merchant_id": "MID-000123", "country": "PL"}


def _card(cardholder):
    """A card whose last 4 digits are not the PIN these tests set (the factory's numbers follow a global counter)."""
    return factories.card_factory(customer=cardholder.customer, pan=make_pan("400000", 424_242_001))


def _profile(person) -> ThreeDSProfile:
    return ThreeDSProfile.objects.get(customer=person.customer)


def test_the_page_shows_the_state_without_any_secret(anna, cardholder):
    page = anna.get(INDEX).content.decode()
    assert "+48 *** *** 111" in page and ANNAS_PHONE not in page
    assert 'id="pin-state"' in page
    assert reverse("secure3d:pin") in page and ADD in page


def test_the_page_states_the_low_value_rule_by_the_banks_counter(anna, settings):
    # The card core ends the exemption by the number in a row or by the total (PSD2_EXEMPTION_COUNTER): the
    # page says which, never a rule the card core does not apply.
    text = re.sub(r"\s+", " ", anna.get(INDEX).content.decode().replace("\xa0", " "))
    assert "do 100,00 zł za płatność, najwyżej 5 z rzędu od ostatniej płatności potwierdzonej kodem" in text
    assert "400,00" not in text
    settings.PSD2_EXEMPTION_COUNTER = "amount"
    text = re.sub(r"\s+", " ", anna.get(INDEX).content.decode().replace("\xa0", " "))
    assert "o ile od ostatniej płatności potwierdzonej kodem łącznie nie przekroczą 400,00 zł" in text
    assert "z rzędu od ostatniej" not in text


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


def _has_pin(person) -> bool:
    return ThreeDSProfile.objects.filter(customer=person.customer).exclude(pin_verification_value="").exists()


def _pin_is(person, pin: str) -> bool:
    return _profile(person).pin_verification_value == threeds_pin_verification_value(pin, customer=person.customer)


def test_setting_the_pin_needs_the_sms_code(anna, cardholder):
    card = _card(cardholder)
    response = anna.post(PIN_URL, {"pin": "5830", "pin_repeat": "5830"})
    challenge = challenge_from(response)
    # Only keyed values wait for the code: the PIN's own and one per card to compare with.
    assert challenge.payload == {
        "pin_verification_values": threeds_pin_verification_values("5830", customer=cardholder.customer),
        "card_pin_values": {str(card.pk): pin_verification_values("5830", card=card)},
    }
    assert not _has_pin(cardholder)
    assert _("setting the 3-D Secure code") in texts_to(ANNAS_PHONE)[-1]

    # A wrong code runs nothing.
    anna.post(response["Location"], {"code": wrong(code_sent_to(ANNAS_PHONE))})
    assert not _has_pin(cardholder)

    done = anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)}, follow=True)
    assert done.redirect_chain[-1][0] == INDEX
    assert _pin_is(cardholder, "5830")
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.CONFIRMED and challenge.payload == {}
    # The holder is told by SMS, as for a password change.
    assert _("Kartosfera: your 3-D Secure code has been set. If it was not you, call your bank at once.") in (
        texts_to(ANNAS_PHONE)
    )


def _card_pin(client: Client, card, pin: str) -> None:
    """Change the card's PIN in the portal, confirmed with the SMS code."""
    url = reverse("portal:card_pin", kwargs={"card_id": card.pk})
    response = client.post(url, {"pin": pin, "pin_again": pin})
    assert response.status_code == 302, response.content.decode()
    client.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)})


def test_a_3ds_pin_equal_to_a_card_pin_is_refused_after_the_code(anna, cardholder):
    card = card_activate(actor=Actor.system(), card=_card(cardholder))
    _card_pin(anna, card, "5830")
    assert pin_matches("5830", card=Card.objects.get(pk=card.pk))
    response = anna.post(PIN_URL, {"pin": "5830", "pin_repeat": "5830"})
    # No answer before the code: a stolen session must not learn the card PIN by trying codes.
    challenge = challenge_from(response)
    done = anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)}, follow=True)
    page = done.content.decode()
    expected = _(
        "The 3-D Secure code must be different from the PIN of your card %(card)s. "
        "Nothing has been changed: choose another code."
    ) % {"card": f"*{card.pan_last4}"}
    assert expected in page and "5830" not in page
    assert not _has_pin(cardholder)
    challenge.refresh_from_db()
    assert challenge.payload == {}
    refused = AuditEvent.objects.get(action="sca.operation.refused")
    assert refused.after == {"operation": "secure3d.pin.set", "reason": "pin_same_as_other_pin"}
    # Another code is accepted.
    response = anna.post(PIN_URL, {"pin": "6135", "pin_repeat": "6135"})
    anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)})
    assert _pin_is(cardholder, "6135")


def test_a_card_pin_equal_to_the_3ds_pin_is_refused_after_the_code(anna, cardholder):
    card = card_activate(actor=Actor.system(), card=_card(cardholder))
    _card_pin(anna, card, "7391")
    response = anna.post(PIN_URL, {"pin": "5830", "pin_repeat": "5830"})
    anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)})
    assert _pin_is(cardholder, "5830")

    url = reverse("portal:card_pin", kwargs={"card_id": card.pk})
    response = anna.post(url, {"pin": "5830", "pin_again": "5830"})
    challenge = challenge_from(response)
    done = anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)}, follow=True)
    refusal = _(
        "The new PIN must be different from your 3-D Secure code. Nothing has been changed: choose another PIN."
    )
    assert refusal in done.content.decode()
    card.refresh_from_db()
    assert pin_matches("7391", card=card) and not pin_matches("5830", card=card)
    challenge.refresh_from_db()
    assert challenge.payload == {}
    assert AuditEvent.objects.filter(action="cards.card.pin_changed", object_id=str(card.pk)).count() == 1


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
    assert _pin_is(cardholder, pin)
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
