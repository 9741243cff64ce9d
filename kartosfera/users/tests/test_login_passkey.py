"""Signing in with a passkey: after the right password a cardholder with a passkey is asked for it, not sent a code.

[ASVS 5.0 6.3.3 at Level 3, 6.6.1] The passkey step (/login/passkey/) is reached only through the password; a
refused answer counts towards the lock like a wrong SMS code; the SMS code is there on request only while the user
has not chosen "passkey only" and the deployment does not require passkeys.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.sca.models import SmsChallenge
from kartosfera.testing.passkeys_pages import page_options, passkey_add_directly
from kartosfera.testing.webauthn import SoftAuthenticator
from kartosfera.users.models import Passkey, User
from kartosfera.users.passkeys import passkey_only_set
from kartosfera.users.session_keys import LOGIN_PASSKEY_PENDING, LOGIN_PENDING
from kartosfera.users.tests.helpers import LOGIN_CODE_URL, LOGIN_URL, Portal, last_login_code

PASSKEY_URL = reverse("users:login_passkey")
SMS_BUTTON = 'name="action" value="sms"'


@pytest.fixture(autouse=True)
def english(client, settings):
    # The messages are asserted in English: their Polish translations come with the next `make messages`.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def with_passkey(cardholder):
    passkey, authenticator = passkey_add_directly(cardholder.user)
    return passkey, authenticator


def _answer(portal, authenticator: SoftAuthenticator, **extra) -> object:
    """Open the passkey step, let the authenticator sign its options, send the answer."""
    page = portal.get(PASSKEY_URL)
    assert page.status_code == 200
    return portal.post(PASSKEY_URL, {"action": "verify", "credential": authenticator.get(page_options(page)), **extra})


def test_the_right_password_leads_to_the_passkey_and_sends_no_sms(portal, cardholder, with_passkey):
    passkey, _ = with_passkey

    response = portal.password_step(cardholder.identifier, cardholder.password)

    assert response.status_code == 302 and response["Location"] == PASSKEY_URL
    assert locmem.outbox == [] and not SmsChallenge.objects.exists()
    assert portal.signed_in_user_id is None
    # The session holds ids only, never a secret.
    assert set(portal.client.session[LOGIN_PASSKEY_PENDING]) == {"user_id", "next", "expires"}
    page = portal.get(PASSKEY_URL)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    options = page_options(page)
    assert [c["id"] for c in options["allowCredentials"]] == [passkey.credential_id]
    assert options["rpId"] == "testserver" and options["userVerification"] == "required"
    html = page.content.decode()
    assert 'data-passkey="get"' in html and 'name="credential"' in html and "js/passkeys.js" in html
    assert SMS_BUTTON in html  # no "passkey only" here: the code stays on request


def test_the_passkey_signs_in_and_goes_where_the_user_was_going(portal, cardholder, with_passkey):
    passkey, authenticator = with_passkey
    portal.password_step(cardholder.identifier, cardholder.password, next="/settings/")

    response = _answer(portal, authenticator)

    assert response.status_code == 302 and response["Location"] == "/settings/"
    assert portal.signed_in_user_id == cardholder.user.pk
    assert locmem.outbox == []
    assert AuditEvent.objects.get(action="users.login.succeeded").after == {"method": "password_passkey"}
    assert Passkey.objects.get(pk=passkey.pk).last_used_at is not None
    assert LOGIN_PASSKEY_PENDING not in portal.client.session
    assert portal.get(PASSKEY_URL)["Location"] == LOGIN_URL  # the step is over


def test_a_refused_passkey_is_counted_and_a_fresh_prompt_follows(portal, cardholder, with_passkey):
    _, authenticator = with_passkey
    portal.password_step(cardholder.identifier, cardholder.password)

    # An answer made for another site (a phishing page's origin) is worthless here.
    phished = SoftAuthenticator(origin="https://bank-login.example")
    phished.credential_id, phished._key = authenticator.credential_id, authenticator._key
    response = _answer(portal, phished)

    assert response.status_code == 302 and response["Location"] == PASSKEY_URL
    assert portal.signed_in_user_id is None
    assert User.objects.get(pk=cardholder.user.pk).failed_login_count == 1
    assert AuditEvent.objects.filter(action="users.passkey.use_refused").count() == 1
    assert AuditEvent.objects.get(action="users.login.failed").after["reason"] == "passkey_refused"
    page = portal.get(PASSKEY_URL)
    assert "The passkey could not be confirmed. Please try again." in page.content.decode()

    # The fresh prompt works, and the completed sign-in resets the count.
    portal.post(PASSKEY_URL, {"credential": authenticator.get(page_options(page))})
    assert portal.signed_in_user_id == cardholder.user.pk
    assert User.objects.get(pk=cardholder.user.pk).failed_login_count == 0


def test_three_refused_passkeys_lock_access_and_restart_sign_in(portal, cardholder, with_passkey):
    portal.password_step(cardholder.identifier, cardholder.password)
    stranger = SoftAuthenticator()  # a passkey that is not this user's

    for _ in range(2):
        assert _answer(portal, stranger)["Location"] == PASSKEY_URL
    response = _answer(portal, stranger)

    assert response.status_code == 302 and response["Location"] == LOGIN_URL
    user = User.objects.get(pk=cardholder.user.pk)
    assert user.is_locked() and user.failed_login_count == 3
    assert LOGIN_PASSKEY_PENDING not in portal.client.session
    assert AuditEvent.objects.filter(action="users.access.locked").count() == 1
    assert "access to the portal is locked until" in portal.get(LOGIN_URL).content.decode()


def test_an_answer_without_its_challenge_is_not_counted(portal, cardholder, with_passkey):
    _, authenticator = with_passkey
    portal.password_step(cardholder.identifier, cardholder.password)
    page = portal.get(PASSKEY_URL)
    answer = authenticator.get(page_options(page))
    portal.post(PASSKEY_URL, {"credential": answer})
    assert portal.signed_in_user_id == cardholder.user.pk

    # The same answer again, in a new sign-in: its challenge was single use.
    replay = Portal(client=Client(), capture=portal.capture)
    replay.password_step(cardholder.identifier, cardholder.password)
    response = replay.post(PASSKEY_URL, {"credential": answer})
    assert response["Location"] == PASSKEY_URL and replay.signed_in_user_id is None
    # No challenge was open (no prompt shown in that session): nothing was verified, nothing counted.
    assert User.objects.get(pk=cardholder.user.pk).failed_login_count == 0


def test_the_sms_code_instead_continues_to_the_code_page(portal, cardholder, with_passkey):
    portal.password_step(cardholder.identifier, cardholder.password, next="/settings/")
    portal.get(PASSKEY_URL)

    response = portal.post(PASSKEY_URL, {"action": "sms"})

    assert response.status_code == 302 and response["Location"] == LOGIN_CODE_URL
    assert len(locmem.outbox) == 1
    assert LOGIN_PASSKEY_PENDING not in portal.client.session
    assert portal.client.session[LOGIN_PENDING]["next"] == "/settings/"
    done = portal.code_step(last_login_code())
    assert done["Location"] == "/settings/" and portal.signed_in_user_id == cardholder.user.pk


@pytest.mark.parametrize("how", ["passkey_only", "required"])
def test_no_sms_option_with_passkey_only_or_in_the_level_3_mode(portal, cardholder, with_passkey, settings, how):
    if how == "passkey_only":
        User.objects.filter(pk=cardholder.user.pk).update(passkey_only=True)
    else:
        settings.PORTAL_PASSKEY_REQUIRED = True
    portal.password_step(cardholder.identifier, cardholder.password)

    page = portal.get(PASSKEY_URL)
    assert SMS_BUTTON not in page.content.decode()
    response = portal.post(PASSKEY_URL, {"action": "sms"})  # a forged request

    assert response["Location"] == PASSKEY_URL
    assert locmem.outbox == [] and not SmsChallenge.objects.exists()


def test_cancel_ends_the_passkey_step(portal, cardholder, with_passkey):
    portal.password_step(cardholder.identifier, cardholder.password)

    response = portal.post(PASSKEY_URL, {"action": "cancel"})

    assert response["Location"] == LOGIN_URL
    assert LOGIN_PASSKEY_PENDING not in portal.client.session
    assert portal.get(PASSKEY_URL)["Location"] == LOGIN_URL


def test_the_step_is_only_reached_through_the_password_and_expires(portal, cardholder, with_passkey):
    assert portal.get(PASSKEY_URL)["Location"] == LOGIN_URL

    portal.password_step(cardholder.identifier, cardholder.password)
    session = portal.client.session
    pending = session[LOGIN_PASSKEY_PENDING]
    session[LOGIN_PASSKEY_PENDING] = {
        **pending,
        "expires": (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat(),
    }
    session.save()

    assert portal.get(PASSKEY_URL)["Location"] == LOGIN_URL


def test_without_a_passkey_the_code_comes_as_before(portal, cardholder):
    response = portal.password_step(cardholder.identifier, cardholder.password)

    assert response["Location"] == LOGIN_CODE_URL and len(locmem.outbox) == 1
    assert "passkey-hint" in portal.get(LOGIN_CODE_URL).content.decode()


def test_the_passkey_step_checks_csrf(portal, cardholder, with_passkey):
    _, authenticator = with_passkey
    portal.password_step(cardholder.identifier, cardholder.password)
    answer = authenticator.get(page_options(portal.get(PASSKEY_URL)))
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = portal.client.cookies

    response = strict.post(PASSKEY_URL, {"credential": answer})

    assert response.status_code == 403
    assert "_auth_user_id" not in strict.session


def test_wrong_methods_are_refused(client, db):
    assert client.put(PASSKEY_URL).status_code == 405


def test_a_code_sent_before_passkey_only_was_chosen_no_longer_signs_in(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    code = last_login_code()
    passkey_add_directly(cardholder.user)
    passkey_only_set(actor=Actor.for_user(cardholder.user), user=cardholder.user, enabled=True)

    response = portal.post(LOGIN_CODE_URL, {"code": code})

    assert response.status_code == 302 and response["Location"] == LOGIN_URL
    assert portal.signed_in_user_id is None
    assert not AuditEvent.objects.filter(action="users.login.succeeded").exists()
    assert not AuditEvent.objects.filter(action="users.login.failed").exists()


def test_a_code_sent_before_passkey_only_is_not_sent_again(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    passkey_add_directly(cardholder.user)
    passkey_only_set(actor=Actor.for_user(cardholder.user), user=cardholder.user, enabled=True)
    sent = len(locmem.outbox)

    response = portal.post(LOGIN_CODE_URL, {"action": "resend"})

    assert response.status_code == 302 and response["Location"] == LOGIN_URL
    assert len(locmem.outbox) == sent
