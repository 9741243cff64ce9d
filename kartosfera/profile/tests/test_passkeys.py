"""The passkeys settings page: list, add (name, password, the device's ceremony, the SMS code), remove, "passkey only".

[ASVS 5.0 6.3.3, 6.6.1, 7.5.1] Adding or removing a passkey and bringing SMS codes back change how the cardholder
signs in: each needs the current password and then the step-up's SMS code, like a new portal phone. A software
authenticator (kartosfera/testing/webauthn.py) answers the page's options for http://testserver.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.profile.tests.conftest import ANNAS_PHONE
from kartosfera.profile.views import PASSKEY_ADD_PENDING
from kartosfera.sca.models import SmsChallenge
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to, texts_to
from kartosfera.testing.factories import DEFAULT_PASSWORD
from kartosfera.testing.passkeys_pages import page_options, passkey_add_directly
from kartosfera.testing.webauthn import SoftAuthenticator
from kartosfera.users.models import Passkey, User

pytestmark = pytest.mark.django_db(transaction=True)

URL = reverse("profile:passkeys")
ADD_URL = reverse("profile:passkey_add")
CREATE_URL = reverse("profile:passkey_create")
ONLY_URL = reverse("profile:passkey_only")
WRONG_PASSWORD = "The current password is not correct."


@pytest.fixture(autouse=True)
def english(client, settings):
    # The texts are asserted in English (the anna fixture signs this client in): their Polish translations come
    # with the next `make messages`.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def _remove_url(passkey: Passkey) -> str:
    return reverse("profile:passkey_remove", kwargs={"public_id": passkey.public_id})


def _confirm(client: Client, response) -> object:
    """Type the step-up's SMS code on the confirmation page the response leads to."""
    challenge_from(response)
    return client.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)}, follow=True)


def test_the_page_lists_the_passkeys_and_explains_the_risks_of_sms(anna, cardholder):
    passkey, _ = passkey_add_directly(cardholder.user, name="Mój telefon")
    passkey_add_directly(cardholder.user, SoftAuthenticator(synced=True), name="Laptop")

    response = anna.get(URL)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "Mój telefon" in html and "Laptop" in html
    assert "synced between your devices" in html and "on one device only" in html
    assert "not yet" in html  # never used
    assert _remove_url(passkey) in html
    for risk in ("SIM swap", "Interception", "Phishing", "bound to this portal"):
        assert risk in html
    assert cardholder.customer.pesel not in html
    assert URL in anna.get(reverse("profile:index")).content.decode()  # linked from the settings


def test_adding_a_passkey_needs_the_password_the_ceremony_and_the_sms_code(anna, cardholder):
    authenticator = SoftAuthenticator()
    response = anna.post(ADD_URL, {"name": "  Mój   telefon ", "current_password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response["Location"] == CREATE_URL

    page = anna.get(CREATE_URL)
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    options = page_options(page)
    # The authenticator lists the passkey under a neutral name: never the PESEL.
    assert options["user"]["name"] == "Kartosfera" and cardholder.customer.pesel not in page.content.decode()
    assert options["rp"]["id"] == "testserver"
    response = anna.post(CREATE_URL, {"credential": authenticator.create(options)})

    challenge = challenge_from(response)
    assert challenge.operation == "users.passkey.add"
    assert not Passkey.objects.exists()  # nothing until the code
    assert PASSKEY_ADD_PENDING not in anna.session
    done = _confirm(anna, response)

    assert done.redirect_chain[-1][0] == URL
    passkey = Passkey.objects.get(user=cardholder.user)
    assert passkey.name == "Mój telefon" and passkey.credential_id == authenticator.credential_id_b64
    assert "Mój telefon" in done.content.decode()
    assert AuditEvent.objects.filter(action="users.passkey.added").count() == 1
    assert AuditEvent.objects.get(action="sca.operation.completed").after["operation"] == "users.passkey.add"


def test_the_own_login_names_the_passkey_on_the_device(anna, cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(login="anna.nowak")
    anna.post(ADD_URL, {"name": "Telefon", "current_password": DEFAULT_PASSWORD})

    assert page_options(anna.get(CREATE_URL))["user"]["name"] == "anna.nowak"


def test_a_wrong_password_or_a_bad_name_stops_before_the_ceremony(anna, cardholder):
    response = anna.post(ADD_URL, {"name": "Telefon", "current_password": "wrong"})
    assert response.status_code == 200 and WRONG_PASSWORD in response.content.decode()
    response = anna.post(ADD_URL, {"name": "   ", "current_password": DEFAULT_PASSWORD})
    assert response.status_code == 200 and 'id="form-errors"' in response.content.decode()

    assert PASSKEY_ADD_PENDING not in anna.session
    assert anna.get(CREATE_URL)["Location"] == ADD_URL


def test_a_refused_answer_adds_nothing(anna, cardholder):
    anna.post(ADD_URL, {"name": "Telefon", "current_password": DEFAULT_PASSWORD})
    options = page_options(anna.get(CREATE_URL))
    # Made for a look-alike site: the signed origin is not ours.
    phished = SoftAuthenticator(origin="https://kartosfera.example.net").create(options)

    done = _confirm(anna, anna.post(CREATE_URL, {"credential": phished}))

    assert done.redirect_chain[-1][0] == URL
    assert "The passkey could not be confirmed." in done.content.decode()
    assert not Passkey.objects.exists()
    assert AuditEvent.objects.get(action="sca.operation.refused").after["reason"] == "passkey_refused"
    # The passkey's own refusal, with its reason, outlives the confirmation's rolled-back transaction.
    assert AuditEvent.objects.get(action="users.passkey.add_refused").after == {"reason": "InvalidRegistrationResponse"}


def test_an_answer_without_the_ceremony_sends_no_code(anna, cardholder):
    anna.post(ADD_URL, {"name": "Telefon", "current_password": DEFAULT_PASSWORD})

    # No options were shown in this session, so no challenge waits for the answer.
    response = anna.post(CREATE_URL, {"credential": SoftAuthenticator().create({"challenge": "AAAA"})})

    assert response["Location"] == CREATE_URL
    assert not SmsChallenge.objects.exists() and texts_to(ANNAS_PHONE) == []


def test_removing_a_passkey_needs_the_password_and_the_sms_code(anna, cardholder):
    passkey, _ = passkey_add_directly(cardholder.user, name="Stary telefon")
    page = anna.get(_remove_url(passkey))
    assert page.status_code == 200 and "Stary telefon" in page.content.decode()
    assert "no-store" in page["Cache-Control"]

    assert WRONG_PASSWORD in anna.post(_remove_url(passkey), {"current_password": "wrong"}).content.decode()
    response = anna.post(_remove_url(passkey), {"current_password": DEFAULT_PASSWORD})
    assert challenge_from(response).operation == "users.passkey.remove"
    assert Passkey.objects.filter(pk=passkey.pk).exists()
    done = _confirm(anna, response)

    assert done.redirect_chain[-1][0] == URL
    assert not Passkey.objects.filter(pk=passkey.pk).exists()
    assert AuditEvent.objects.get(action="users.passkey.removed").after["passkey"] == str(passkey.public_id)


def test_another_customers_passkey_is_not_found(anna, bob, second_cardholder):
    bobs, _ = passkey_add_directly(second_cardholder.user)

    assert anna.get(_remove_url(bobs)).status_code == 404
    assert anna.post(_remove_url(bobs), {"current_password": DEFAULT_PASSWORD}).status_code == 404
    assert Passkey.objects.filter(pk=bobs.pk).exists() and not SmsChallenge.objects.exists()
    assert bob.get(_remove_url(bobs)).status_code == 200


def test_the_only_passkey_of_a_passkey_only_user_stays(anna, cardholder):
    passkey, _ = passkey_add_directly(cardholder.user)
    User.objects.filter(pk=cardholder.user.pk).update(passkey_only=True)

    page = anna.get(_remove_url(passkey)).content.decode()
    response = anna.post(_remove_url(passkey), {"current_password": DEFAULT_PASSWORD})

    assert 'id="last-passkey"' in page and 'name="current_password"' not in page
    assert response.status_code == 200 and not SmsChallenge.objects.exists()
    assert Passkey.objects.filter(pk=passkey.pk).exists()


def test_passkey_only_goes_on_at_once_and_off_with_the_password_and_the_passkey(anna, cardholder):
    _, authenticator = passkey_add_directly(cardholder.user)
    locmem.outbox.clear()  # the notice of the new passkey

    response = anna.post(ONLY_URL, {"enabled": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == URL
    assert User.objects.get(pk=cardholder.user.pk).passkey_only
    assert not SmsChallenge.objects.exists()  # taking the SMS away needs no SMS
    assert AuditEvent.objects.get(action="users.passkey_only.changed").after == {"passkey_only": True}

    wrong = anna.post(ONLY_URL, {"enabled": "0", "current_password": "wrong"})
    assert wrong.status_code == 200 and WRONG_PASSWORD in wrong.content.decode()
    response = anna.post(ONLY_URL, {"enabled": "0", "current_password": DEFAULT_PASSWORD})
    # A passkey-only cardholder confirms with the passkey, not an SMS code (users/passkey_views.py).
    assert re.fullmatch(r"/confirm/[0-9a-f-]{36}/passkey/", response["Location"])
    assert User.objects.get(pk=cardholder.user.pk).passkey_only
    page = anna.get(response["Location"])
    done = anna.post(response["Location"], {"credential": authenticator.get(page_options(page))}, follow=True)

    assert done.redirect_chain[-1][0] == URL
    assert not User.objects.get(pk=cardholder.user.pk).passkey_only
    assert texts_to(ANNAS_PHONE) == []


def test_passkey_only_needs_a_passkey(anna, cardholder):
    response = anna.post(ONLY_URL, {"enabled": "1"}, follow=True)

    assert "Add a passkey first." in response.content.decode()
    assert not User.objects.get(pk=cardholder.user.pk).passkey_only


def test_the_pages_refuse_visitors_staff_wrong_methods_and_missing_csrf(staff_client, anna, cardholder):
    passkey, _ = passkey_add_directly(cardholder.user)
    visitor = Client()
    for url in (URL, ADD_URL, CREATE_URL, _remove_url(passkey)):
        assert visitor.get(url)["Location"].startswith(reverse("users:login"))
        assert staff_client.get(url).status_code == 403
    assert anna.get(ONLY_URL).status_code == 405
    assert anna.post(URL).status_code == 405

    strict = Client(enforce_csrf_checks=True)
    strict.cookies = anna.cookies
    assert strict.post(ONLY_URL, {"enabled": "1"}).status_code == 403
    assert strict.post(_remove_url(passkey), {"current_password": DEFAULT_PASSWORD}).status_code == 403
    assert not User.objects.get(pk=cardholder.user.pk).passkey_only


# --- The Level 3 mode: PORTAL_PASSKEY_REQUIRED ----------------------------------------------------------------------


def test_in_the_level_3_mode_a_cardholder_without_a_passkey_adds_one_first(anna, cardholder, settings):
    settings.PORTAL_PASSKEY_REQUIRED = True

    for path in ("/cards/", reverse("profile:index"), reverse("profile:sessions")):
        response = anna.get(path)
        assert response.status_code == 302 and response["Location"] == URL, path
    page = anna.get(URL, follow=True)
    assert page.status_code == 200
    assert "Your bank requires a passkey" in page.content.decode()
    # What adding one needs stays open: its pages, the confirmation, the language switch, signing out.
    assert anna.get(ADD_URL).status_code == 200
    assert anna.post("/i18n/setlang/", {"language": "en", "next": URL})["Location"] == URL
    assert anna.get(reverse("profile:session_status")).status_code == 200

    passkey_add_directly(cardholder.user)
    assert anna.get("/cards/").status_code == 200
    assert anna.post(reverse("users:logout")).status_code == 302


def test_without_the_level_3_mode_nobody_is_sent_to_add_a_passkey(anna, cardholder, settings):
    settings.PORTAL_PASSKEY_REQUIRED = False

    assert anna.get("/cards/").status_code == 200
    assert anna.get(reverse("profile:index")).status_code == 200


def test_in_the_level_3_mode_the_last_passkey_stays_and_passkey_only_is_not_offered(anna, cardholder, settings):
    settings.PORTAL_PASSKEY_REQUIRED = True
    passkey, _ = passkey_add_directly(cardholder.user)

    html = anna.get(URL).content.decode()
    assert ONLY_URL not in html
    assert 'id="last-passkey"' in anna.get(_remove_url(passkey)).content.decode()
