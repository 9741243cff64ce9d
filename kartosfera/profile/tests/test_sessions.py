"""The user's active sessions: list them, end one or all the others [ASVS 5.0 7.5.2] (docs/sessions.md)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kartosfera.core.models import AuditEvent
from kartosfera.profile.tests.conftest import ANNAS_PHONE
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to
from kartosfera.testing.factories import DEFAULT_PASSWORD
from kartosfera.users.models import SessionEndReason, UserSession
from kartosfera.users.session_registry import session_key_digest
from kartosfera.users.tests.helpers import Portal

pytestmark = pytest.mark.django_db

URL = reverse("profile:sessions")
OTHERS_URL = reverse("profile:sessions_end_others")
SETTINGS_URL = reverse("profile:index")
LOGIN_URL = reverse("users:login")
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
WRONG_PASSWORD = "Obecne hasło jest nieprawidłowe."


def _device(cardholder, **extra) -> Client:
    client = Client(**extra)
    client.force_login(cardholder.user)
    return client


def _public_id(client: Client) -> str:
    row = UserSession.objects.get(key_digest=session_key_digest(client.session.session_key))
    return str(row.public_id)


def _end_url(client: Client) -> str:
    return reverse("profile:session_end", args=[_public_id(client)])


def page_sessions(page: str) -> int:
    return page.count("data-session=")


def _signed_in(client: Client) -> bool:
    response = client.get(SETTINGS_URL)
    return response.status_code == 200


def test_two_sign_ins_are_listed_with_this_device_marked(cardholder, django_capture_on_commit_callbacks):
    pesel = cardholder.customer.pesel
    laptop = Portal(
        Client(HTTP_USER_AGENT=FIREFOX_WINDOWS, REMOTE_ADDR="198.51.100.7"), django_capture_on_commit_callbacks
    )
    phone = Portal(Client(HTTP_USER_AGENT=SAFARI_IPHONE, REMOTE_ADDR="203.0.113.9"), django_capture_on_commit_callbacks)
    laptop.sign_in(pesel, DEFAULT_PASSWORD)
    phone.sign_in(pesel, DEFAULT_PASSWORD)

    response = laptop.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert page.count("data-session=") == 2
    assert "Firefox" in page and "Windows" in page and "Safari" in page and "iOS" in page
    assert "198.51.100.7" in page and "203.0.113.9" in page
    # This device is marked and first; only the other one can be ended from here.
    assert page.count("data-current") == 1
    assert page.index("data-current") < page.index("Safari") and page.index("Firefox") < page.index("Safari")
    assert page.count("data-end-session") == 1
    assert reverse("profile:session_end", args=[_public_id(phone.client)]) in page
    # The raw session keys are in no page, and the registry keeps them only hashed and encrypted.
    for client in (laptop.client, phone.client):
        key = client.session.session_key
        assert key not in page
        row = UserSession.objects.get(public_id=_public_id(client))
        assert key not in row.key_digest and key not in row.key_encrypted
        assert row.browser and row.os and FIREFOX_WINDOWS not in (row.browser + row.os)


def test_the_settings_page_links_to_the_sessions(anna):
    assert URL in anna.get(SETTINGS_URL).content.decode()


def test_ending_the_other_session_signs_it_out_at_its_next_request(anna, cardholder):
    laptop = _device(cardholder)
    laptop_key = laptop.session.session_key
    end_url = _end_url(laptop)
    public_id = _public_id(laptop)

    confirm = anna.get(end_url)
    assert confirm.status_code == 200 and "no-store" in confirm["Cache-Control"]
    response = anna.post(end_url, {"current_password": DEFAULT_PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == URL
    assert "alert alert--success" in response.content.decode()
    assert not Session.objects.filter(session_key=laptop_key).exists()
    after = laptop.get(SETTINGS_URL)
    assert after.status_code == 302 and after["Location"].startswith(LOGIN_URL)
    # The one who ended it stays signed in and sees only this device.
    page = anna.get(URL).content.decode()
    assert page.count("data-session=") == 1 and "data-current" in page and "data-end-session" not in page
    row = UserSession.objects.get(public_id=public_id)
    assert row.ended_at is not None and row.ended_reason == SessionEndReason.ENDED_BY_USER
    event = AuditEvent.objects.get(action="users.session.ended")
    assert event.after == {"scope": "one", "count": 1, "sessions": [public_id]}
    assert laptop_key not in json.dumps([event.before, event.after])


def test_ending_all_other_sessions_keeps_only_this_one(anna, cardholder):
    others = [_device(cardholder) for _ in range(2)]
    keys = [client.session.session_key for client in others]

    assert anna.get(OTHERS_URL).status_code == 200
    response = anna.post(OTHERS_URL, {"current_password": DEFAULT_PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == URL
    assert page_sessions(response.content.decode()) == 1
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not any(_signed_in(client) for client in others)
    assert _signed_in(anna)
    event = AuditEvent.objects.get(action="users.session.ended")
    assert event.after["scope"] == "others" and event.after["count"] == 2
    assert not set(keys) & set(json.dumps(event.after).split('"'))


def test_ending_all_others_also_ends_a_session_the_registry_does_not_know(anna, cardholder):
    """Signed in before the registry existed, or its key unreadable after a key rotation: the raised session
    epoch ends it too, and this session stays."""
    unknown = _device(cardholder)
    UserSession.objects.filter(key_digest=session_key_digest(unknown.session.session_key)).delete()

    anna.post(OTHERS_URL, {"current_password": DEFAULT_PASSWORD})

    assert not _signed_in(unknown)
    assert _signed_in(anna)


def test_a_wrong_password_ends_nothing_and_counts_against_the_shared_budget(anna, cardholder):
    laptop = _device(cardholder)
    end_url = _end_url(laptop)

    response = anna.post(end_url, {"current_password": "not-my-password"})

    assert response.status_code == 200
    assert WRONG_PASSWORD in response.content.decode()
    assert _signed_in(laptop)
    assert not AuditEvent.objects.filter(action="users.session.ended").exists()
    # One budget with the other pages that check the current password: 9 more guesses elsewhere use it up.
    for _ in range(9):
        anna.post(reverse("profile:login"), {"login": "anna.nowak", "current_password": "guess"})
    refused = anna.post(end_url, {"current_password": DEFAULT_PASSWORD})
    assert refused.status_code == 429
    assert _signed_in(laptop)
    assert anna.post(OTHERS_URL, {"current_password": DEFAULT_PASSWORD}).status_code == 429
    assert _signed_in(laptop)


def test_another_users_session_this_one_and_unknown_ids_are_not_found(anna, cardholder, bob):
    bobs = _end_url(bob)
    own = _end_url(anna)
    unknown = reverse("profile:session_end", args=["6f1c2a54-0000-4000-8000-000000000000"])

    for url in (bobs, own, unknown):
        assert anna.get(url).status_code == 404
        assert anna.post(url, {"current_password": DEFAULT_PASSWORD}).status_code == 404
    assert _signed_in(bob) and _signed_in(anna)
    assert not AuditEvent.objects.filter(action="users.session.ended").exists()
    # Bob's sessions are not among Anna's, and ending "all others" leaves Bob alone.
    assert bobs not in anna.get(URL).content.decode()
    anna.post(OTHERS_URL, {"current_password": DEFAULT_PASSWORD})
    assert _signed_in(bob)


def test_an_ended_session_cannot_be_ended_again(anna, cardholder):
    laptop = _device(cardholder)
    end_url = _end_url(laptop)
    anna.post(end_url, {"current_password": DEFAULT_PASSWORD})

    assert anna.get(end_url).status_code == 404


def test_expired_and_signed_out_sessions_are_not_listed(cardholder):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        idle = _device(cardholder, HTTP_USER_AGENT=SAFARI_IPHONE)
        signed_out = _device(cardholder, HTTP_USER_AGENT=FIREFOX_WINDOWS)
        idle_id, signed_out_id = _public_id(idle), _public_id(signed_out)
        signed_out.post(reverse("users:logout"))
        clock.shift(dt.timedelta(minutes=4))
        viewer = _device(cardholder)
        clock.shift(dt.timedelta(minutes=2))
        # The idle session is still in the store (nothing has asked for it since), but over its 5 minutes.
        assert idle.session.session_key

        page = viewer.get(URL).content.decode()

        assert idle_id not in page and signed_out_id not in page
        assert page_sessions(page) == 1 and "data-current" in page
        assert UserSession.objects.get(public_id=signed_out_id).ended_reason == SessionEndReason.LOGOUT
        # The idle one, once it comes back, is ended by the timeout middleware, which closes its row too.
        idle.get(SETTINGS_URL)
        assert UserSession.objects.get(public_id=idle_id).ended_reason == SessionEndReason.IDLE


@pytest.mark.django_db(transaction=True)  # the step-up's SMS goes out on commit
def test_a_password_change_ends_the_others_in_the_list_and_this_session_keeps_its_row(anna, cardholder):
    laptop = _device(cardholder)
    laptop_id = _public_id(laptop)
    own_id = _public_id(anna)
    new = "Czerwone jabłka w sadzie"
    response = anna.post(
        reverse("profile:password"),
        {"current_password": DEFAULT_PASSWORD, "new_password": new, "new_password_repeat": new},
    )
    challenge_from(response)
    anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)})

    page = anna.get(URL).content.decode()

    # The confirming session got a new key: its row followed it (still "this device"), the laptop's is gone.
    assert laptop_id not in page
    assert page_sessions(page) == 1 and "data-current" in page
    assert _public_id(anna) == own_id


def test_the_page_has_a_fixed_query_budget(anna, cardholder, django_assert_max_num_queries):
    _device(cardholder)
    anna.get(URL)
    with CaptureQueriesContext(connection) as few:
        anna.get(URL)
    for _ in range(6):
        _device(cardholder)

    with django_assert_max_num_queries(len(few)):
        page = anna.get(URL).content.decode()

    assert page_sessions(page) == 8 and page.count("data-end-session") == 7
    # session, user with customer, the registry's rows (+ the session's save when a middleware touched it)
    assert len(few) <= 5


def test_the_pages_are_for_signed_in_cardholders_only(client, staff_client):
    for url in (URL, OTHERS_URL):
        assert client.get(url).status_code == 302
        assert client.get(url)["Location"].startswith(LOGIN_URL)
        assert staff_client.get(url).status_code == 403
    assert staff_client.post(OTHERS_URL, {"current_password": "x"}).status_code == 403


def test_the_forms_need_the_csrf_token(cardholder):
    strict = _device(cardholder, enforce_csrf_checks=True)
    laptop = _device(cardholder)

    assert strict.post(OTHERS_URL, {"current_password": DEFAULT_PASSWORD}).status_code == 403
    assert strict.post(_end_url(laptop), {"current_password": DEFAULT_PASSWORD}).status_code == 403
    assert _signed_in(laptop)


def test_other_methods_are_refused(anna):
    assert anna.post(URL).status_code == 405
    assert anna.delete(OTHERS_URL).status_code == 405
