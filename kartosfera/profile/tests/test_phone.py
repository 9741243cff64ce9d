from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kartosfera.core.models import AuditEvent
from kartosfera.profile.tests.conftest import ANNAS_PHONE
from kartosfera.sca.models import ChallengePurpose, ChallengeState, SmsChallenge
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to, texts_to, wrong
from kartosfera.testing.factories import DEFAULT_PASSWORD
from kartosfera.users.models import User

pytestmark = pytest.mark.django_db(transaction=True)

URL = reverse("profile:phone")
NEW_PHONE = "+48602999888"


def test_the_new_number_needs_codes_to_the_current_and_the_new_number(anna, cardholder):
    response = anna.post(URL, {"new_phone": "602 999 888", "current_password": DEFAULT_PASSWORD})
    challenge = challenge_from(response)
    verification = SmsChallenge.objects.get(purpose=ChallengePurpose.PHONE_VERIFICATION)

    assert challenge.phone == ANNAS_PHONE and verification.phone == NEW_PHONE
    for phone in (ANNAS_PHONE, NEW_PHONE):
        assert "zmiana numeru telefonu do portalu na +48 *** *** 888" in texts_to(phone)[-1]
    page = anna.get(response["Location"]).content.decode()
    assert 'name="code"' in page and 'name="verification_code"' in page
    assert User.objects.get(pk=cardholder.user.pk).portal_phone == ANNAS_PHONE

    done = anna.post(
        response["Location"],
        {"code": code_sent_to(ANNAS_PHONE), "verification_code": code_sent_to(NEW_PHONE)},
        follow=True,
    )

    assert done.redirect_chain[-1][0] == reverse("profile:index")
    assert User.objects.get(pk=cardholder.user.pk).portal_phone == NEW_PHONE
    event = AuditEvent.objects.get(action="users.phone.changed")
    assert event.before == {"portal_phone": "+48 *** *** 111"}
    assert event.after == {"portal_phone": "+48 *** *** 888"}
    # The old number is told, so a hijacked session cannot move the codes unnoticed.
    assert "+48 *** *** 888" in texts_to(ANNAS_PHONE)[-1]


def test_one_right_code_is_not_enough(anna, cardholder):
    response = anna.post(URL, {"new_phone": NEW_PHONE, "current_password": DEFAULT_PASSWORD})
    right_old = code_sent_to(ANNAS_PHONE)

    page = anna.post(response["Location"], {"code": right_old, "verification_code": wrong(code_sent_to(NEW_PHONE))})

    body = page.content.decode()
    assert "Kod jest nieprawidłowy. Pozostałe próby: 2." in body
    # The confirmed code is not asked for again; the wrong one is.
    assert 'name="code"' not in body and 'name="verification_code"' in body
    assert User.objects.get(pk=cardholder.user.pk).portal_phone == ANNAS_PHONE

    anna.post(response["Location"], {"verification_code": code_sent_to(NEW_PHONE)})
    assert User.objects.get(pk=cardholder.user.pk).portal_phone == NEW_PHONE
    assert AuditEvent.objects.filter(action="users.phone.changed").count() == 1


def test_three_wrong_codes_to_the_new_number_end_both(anna, cardholder):
    response = anna.post(URL, {"new_phone": NEW_PHONE, "current_password": DEFAULT_PASSWORD})
    bad = wrong(code_sent_to(NEW_PHONE))
    for _ in range(3):
        anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE), "verification_code": bad})

    states = set(SmsChallenge.objects.values_list("state", flat=True))
    assert ChallengeState.FAILED in states and ChallengeState.PENDING not in states
    assert User.objects.get(pk=cardholder.user.pk).portal_phone == ANNAS_PHONE


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12345", "Podaj prawidłowy numer telefonu."),
        ("not a phone", "Podaj prawidłowy numer telefonu."),
        ("", "To pole jest wymagane."),
        ("601 000 111", "To już jest numer, na który portal wysyła kody."),
    ],
)
def test_a_bad_number_is_refused_with_a_clear_message(anna, value, message):
    response = anna.post(URL, {"new_phone": value, "current_password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SmsChallenge.objects.exists()


def test_the_page_is_for_signed_in_cardholders_only(client, staff_client):
    assert client.get(URL)["Location"].startswith(reverse("users:login"))
    assert staff_client.get(URL).status_code == 403
    assert staff_client.post(URL, {"new_phone": NEW_PHONE}).status_code == 403
    assert not SmsChallenge.objects.exists()


def test_the_form_needs_the_csrf_token(cardholder):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cardholder.user)
    assert strict.post(URL, {"new_phone": NEW_PHONE}).status_code == 403
