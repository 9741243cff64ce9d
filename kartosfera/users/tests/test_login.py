from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.users.models import User, UserKind

LOGIN_URL = reverse("users:login")
GENERIC_ERROR = "Nieprawidłowy identyfikator lub hasło."


def _post_login(client, identifier: str, password: str, **extra):
    return client.post(LOGIN_URL, {"identifier": identifier, "password": password, **extra})


def test_login_page_shows_the_form_in_polish(client, db):
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="pl">' in html
    assert "Zaloguj się" in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html


def test_cardholder_signs_in_with_pesel_and_lands_on_the_card_list(client, cardholder):
    response = _post_login(client, cardholder.identifier, cardholder.password)

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:card_list")
    assert int(client.session["_auth_user_id"]) == cardholder.user.pk


def test_cardholder_signs_in_with_own_login(client, cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(login="anna.nowak")

    response = _post_login(client, "Anna.Nowak", cardholder.password)

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == cardholder.user.pk


def test_successful_login_is_audited_without_the_password(client, cardholder):
    _post_login(client, cardholder.identifier, cardholder.password)

    event = AuditEvent.objects.get(action="users.login.succeeded")
    assert event.actor_type == ActorType.CUSTOMER
    assert event.actor_id == str(cardholder.user.pk)
    assert event.customer_id == cardholder.customer.pk
    assert event.object_id == str(cardholder.user.pk)
    assert cardholder.password not in repr([event.before, event.after, event.actor_label])


def test_login_cycles_the_session_key(client, cardholder):
    # The test client's session property creates the session and sets its cookie,
    # like an attacker planting a known session id before the victim signs in.
    session = client.session
    session["planted"] = True
    session.save()
    planted_key = session.session_key
    assert client.cookies[settings.SESSION_COOKIE_NAME].value == planted_key

    _post_login(client, cardholder.identifier, cardholder.password)

    assert client.cookies[settings.SESSION_COOKIE_NAME].value != planted_key
    assert client.session.session_key != planted_key


def _normalized(html: str, identifier: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return html.replace(identifier, "IDENTIFIER")


def test_wrong_password_and_unknown_identifier_look_exactly_the_same(client, cardholder, stranger):
    wrong_password = _post_login(client, cardholder.identifier, "not-the-password-at-all")
    unknown = _post_login(client, "99999999999", "not-the-password-at-all")
    unregistered = _post_login(client, stranger.identifier, "not-the-password-at-all")

    assert wrong_password.status_code == unknown.status_code == unregistered.status_code == 200
    for response in (wrong_password, unknown, unregistered):
        assert GENERIC_ERROR in response.content.decode()
        assert "_auth_user_id" not in client.session
    assert _normalized(wrong_password.content.decode(), cardholder.identifier) == _normalized(
        unknown.content.decode(), "99999999999"
    )


def test_failed_login_for_a_known_identifier_is_filed_under_the_customer(client, cardholder):
    _post_login(client, cardholder.identifier, "not-the-password-at-all")

    event = AuditEvent.objects.get(action="users.login.failed")
    assert event.actor_type == ActorType.ANONYMOUS
    assert event.customer_id == cardholder.customer.pk
    assert event.after == {"reason": "bad_credentials"}
    assert "not-the-password-at-all" not in repr([event.before, event.after, event.actor_label])


def test_failed_login_for_an_unknown_identifier_records_no_customer_and_not_what_was_typed(client, db):
    _post_login(client, "Zielona-herbata-typed-as-login", "whatever-password")

    event = AuditEvent.objects.get(action="users.login.failed")
    assert event.customer_id is None
    assert event.object_id == ""
    assert event.after == {"reason": "unknown_identifier"}
    assert "Zielona-herbata" not in repr([event.before, event.after, event.actor_label])


def test_inactive_cardholder_gets_the_generic_error(client, cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(is_active=False)

    response = _post_login(client, cardholder.identifier, cardholder.password)

    assert response.status_code == 200
    assert GENERIC_ERROR in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_staff_cannot_sign_in_to_the_cardholder_portal(client, db):
    User.objects.create_user(username="agent.kowalska", password="Staff-password-123", kind=UserKind.STAFF)

    response = _post_login(client, "agent.kowalska", "Staff-password-123")

    assert GENERIC_ERROR in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_blank_form_shows_field_errors_and_records_nothing(client, db):
    response = _post_login(client, "", "")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("To pole jest wymagane.") == 2
    assert 'aria-invalid="true"' in html
    assert GENERIC_ERROR not in html
    assert not AuditEvent.objects.exists()


def test_login_follows_a_local_next_url(client, cardholder, card):
    detail = reverse("portal:card_detail", args=[card.pk])

    response = _post_login(client, cardholder.identifier, cardholder.password, next=detail)

    assert response["Location"] == detail


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/cards/", "javascript:alert(1)"])
def test_login_ignores_a_next_url_to_another_site(client, cardholder, next_url):
    response = _post_login(client, cardholder.identifier, cardholder.password, next=next_url)

    assert response["Location"] == reverse("portal:card_list")


def test_signed_in_cardholder_visiting_login_goes_to_the_cards(client, cardholder):
    client.force_login(cardholder.user)

    response = client.get(LOGIN_URL)

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:card_list")


def test_login_refuses_other_methods(client, db):
    assert client.put(LOGIN_URL).status_code == 405
    assert client.delete(LOGIN_URL).status_code == 405


def test_login_without_csrf_token_is_refused(cardholder):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)

    response = _post_login(client, cardholder.identifier, cardholder.password)

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_login_page_is_never_cached(client, db):
    response = client.get(LOGIN_URL)

    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
