"""Signing in: identifier and password, then the SMS code; one generic error for every failure."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse

from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.models import Customer, Residency
from kartosfera.notifications.backends import locmem
from kartosfera.sca.models import ChallengePurpose, ChallengeState, SmsChallenge
from kartosfera.testing import factories
from kartosfera.users.models import User, UserKind
from kartosfera.users.session_keys import LOGIN_PENDING
from kartosfera.users.tests.helpers import GENERIC_ERROR, LOGIN_CODE_URL, LOGIN_URL, last_login_code


def test_login_page_shows_the_form_in_polish(client, db):
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="pl">' in html
    assert "Zaloguj się" in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert f'href="{reverse("users:register")}"' in html


def test_the_right_password_sends_a_code_but_does_not_sign_in(portal, cardholder):
    response = portal.password_step(cardholder.identifier, cardholder.password)

    assert response.status_code == 302
    assert response["Location"] == LOGIN_CODE_URL
    assert portal.signed_in_user_id is None
    challenge = SmsChallenge.objects.get()
    assert challenge.purpose == ChallengePurpose.LOGIN
    assert challenge.user == cardholder.user
    assert challenge.phone == cardholder.customer.phone_on_file
    assert len(locmem.outbox) == 1
    assert locmem.outbox[0].to == cardholder.customer.phone_on_file


def test_between_the_steps_the_session_holds_only_ids(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)

    pending = portal.client.session[LOGIN_PENDING]
    challenge = SmsChallenge.objects.get()
    assert pending == {"user_id": cardholder.user.pk, "challenge": str(challenge.public_id), "next": ""}
    code = last_login_code()
    assert code not in repr(dict(portal.client.session))
    assert cardholder.password not in repr(dict(portal.client.session))


def test_the_code_page_names_the_masked_phone(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)

    html = portal.get(LOGIN_CODE_URL).content.decode()

    phone = cardholder.customer.phone_on_file
    assert "Kod SMS" in html
    assert f"+48 *** *** {phone[-3:]}" in html
    assert phone not in html
    assert 'autocomplete="one-time-code"' in html
    assert 'inputmode="numeric"' in html


def test_the_code_goes_to_the_portal_phone_when_it_differs_from_the_phone_on_file(portal, cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(portal_phone="+48501999888")

    portal.password_step(cardholder.identifier, cardholder.password)

    assert [m.to for m in locmem.outbox] == ["+48501999888"]


def test_the_right_code_signs_in_and_lands_on_the_card_list(portal, cardholder):
    response = portal.sign_in(cardholder.identifier, cardholder.password)

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:card_list")
    assert portal.signed_in_user_id == cardholder.user.pk
    assert LOGIN_PENDING not in portal.client.session
    assert SmsChallenge.objects.get().state == ChallengeState.CONFIRMED


def test_cardholder_signs_in_with_own_login(portal, cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(login="anna.nowak")

    portal.sign_in("Anna.Nowak", cardholder.password)

    assert portal.signed_in_user_id == cardholder.user.pk


def test_non_resident_signs_in_with_the_bank_assigned_id(portal, db):
    customer = factories.customer_factory(residency=Residency.NON_RESIDENT, nonresident_id="NR00000777")
    user = factories.cardholder_user_factory(customer=customer)

    portal.sign_in("nr00000777", factories.DEFAULT_PASSWORD)

    assert portal.signed_in_user_id == user.pk


def test_a_pesel_typed_with_spaces_is_found(portal, cardholder):
    spaced = f"{cardholder.identifier[:6]} {cardholder.identifier[6:]}"

    portal.sign_in(spaced, cardholder.password)

    assert portal.signed_in_user_id == cardholder.user.pk


def test_successful_login_is_audited_without_the_password_or_code(portal, cardholder):
    portal.sign_in(cardholder.identifier, cardholder.password)

    event = AuditEvent.objects.get(action="users.login.succeeded")
    assert event.actor_type == ActorType.CUSTOMER
    assert event.actor_id == str(cardholder.user.pk)
    assert event.customer_id == cardholder.customer.pk
    assert event.object_id == str(cardholder.user.pk)
    assert event.after == {"method": "password_sms"}
    sent = AuditEvent.objects.get(action="sca.code.sent")
    assert sent.after["purpose"] == ChallengePurpose.LOGIN
    assert cardholder.password not in repr([event.before, event.after, event.actor_label, sent.after])


def test_login_cycles_the_session_key(portal, cardholder):
    # The test client's session property creates the session and sets its cookie,
    # like an attacker planting a known session id before the victim signs in.
    session = portal.client.session
    session["planted"] = True
    session.save()
    planted_key = session.session_key
    assert portal.client.cookies[settings.SESSION_COOKIE_NAME].value == planted_key

    portal.sign_in(cardholder.identifier, cardholder.password)

    assert portal.client.cookies[settings.SESSION_COOKIE_NAME].value != planted_key
    assert portal.client.session.session_key != planted_key


def test_last_login_is_updated_only_after_the_code(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    cardholder.user.refresh_from_db()
    assert cardholder.user.last_login is None

    portal.code_step(last_login_code())

    cardholder.user.refresh_from_db()
    assert cardholder.user.last_login is not None


def _normalized(html: str, identifier: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return html.replace(identifier, "IDENTIFIER")


def test_wrong_password_and_unknown_identifier_look_exactly_the_same(portal, cardholder, stranger):
    wrong_password = portal.password_step(cardholder.identifier, "not-the-password-at-all")
    unknown = portal.password_step("99999999999", "not-the-password-at-all")
    unregistered = portal.password_step(stranger.identifier, "not-the-password-at-all")

    assert wrong_password.status_code == unknown.status_code == unregistered.status_code == 200
    for response in (wrong_password, unknown, unregistered):
        assert GENERIC_ERROR in response.content.decode()
        assert portal.signed_in_user_id is None
    assert _normalized(wrong_password.content.decode(), cardholder.identifier) == _normalized(
        unknown.content.decode(), "99999999999"
    )
    assert _normalized(unregistered.content.decode(), stranger.identifier) == _normalized(
        unknown.content.decode(), "99999999999"
    )
    assert not locmem.outbox
    assert not SmsChallenge.objects.exists()


def test_failed_login_for_a_known_identifier_is_filed_under_the_customer(portal, cardholder):
    portal.password_step(cardholder.identifier, "not-the-password-at-all")

    event = AuditEvent.objects.get(action="users.login.failed")
    assert event.actor_type == ActorType.ANONYMOUS
    assert event.customer_id == cardholder.customer.pk
    assert event.after == {"reason": "bad_credentials", "failed_in_a_row": 1}
    assert "not-the-password-at-all" not in repr([event.before, event.after, event.actor_label])


def test_failed_login_for_an_unknown_identifier_records_no_customer_and_not_what_was_typed(portal, db):
    portal.password_step("Zielona-herbata-typed-as-login", "whatever-password")

    event = AuditEvent.objects.get(action="users.login.failed")
    assert event.customer_id is None
    assert event.object_id == ""
    assert event.after == {"reason": "unknown_identifier"}
    assert "Zielona-herbata" not in repr([event.before, event.after, event.actor_label])


def test_inactive_cardholder_gets_the_generic_error(portal, cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(is_active=False)

    response = portal.password_step(cardholder.identifier, cardholder.password)

    assert response.status_code == 200
    assert GENERIC_ERROR in response.content.decode()
    assert not locmem.outbox


def test_staff_cannot_sign_in_to_the_cardholder_portal(portal, db):
    User.objects.create_user(username="agent.kowalska", password="Staff-password-123", kind=UserKind.STAFF)

    response = portal.password_step("agent.kowalska", "Staff-password-123")

    assert GENERIC_ERROR in response.content.decode()
    assert not locmem.outbox


def test_the_backend_never_signs_anybody_in_with_a_password_alone(cardholder):
    assert authenticate(None, identifier=cardholder.identifier, password=cardholder.password) is None
    assert authenticate(None, username=cardholder.user.username, password=cardholder.password) is None


def test_a_customer_without_any_phone_is_told_to_visit_a_branch_after_the_right_password(portal, cardholder):
    Customer.objects.filter(pk=cardholder.customer.pk).update(phone_on_file=None)
    User.objects.filter(pk=cardholder.user.pk).update(portal_phone=None)

    response = portal.password_step(cardholder.identifier, cardholder.password)

    assert response.status_code == 200
    assert "placówkę" in response.content.decode()
    assert AuditEvent.objects.get(action="users.login.refused").after == {"reason": "no_phone"}


def test_blank_form_shows_field_errors_and_records_nothing(portal, db):
    response = portal.password_step("", "")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("To pole jest wymagane.") == 2
    assert 'aria-invalid="true"' in html
    assert GENERIC_ERROR not in html
    assert not AuditEvent.objects.exists()


def test_login_follows_a_local_next_url_after_the_code(portal, cardholder, card):
    detail = reverse("portal:card_detail", args=[card.pk])

    response = portal.sign_in(cardholder.identifier, cardholder.password, next=detail)

    assert response["Location"] == detail


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/cards/", "javascript:alert(1)"])
def test_login_ignores_a_next_url_to_another_site(portal, cardholder, next_url):
    response = portal.sign_in(cardholder.identifier, cardholder.password, next=next_url)

    assert response["Location"] == reverse("portal:card_list")


def test_signed_in_cardholder_visiting_login_goes_to_the_cards(client, cardholder):
    client.force_login(cardholder.user)

    response = client.get(LOGIN_URL)

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:card_list")


def test_login_refuses_other_methods(client, db):
    assert client.put(LOGIN_URL).status_code == 405
    assert client.delete(LOGIN_URL).status_code == 405
    assert client.put(LOGIN_CODE_URL).status_code == 405


def test_login_without_csrf_token_is_refused(cardholder):
    client = Client(enforce_csrf_checks=True)

    response = client.post(LOGIN_URL, {"identifier": cardholder.identifier, "password": cardholder.password})

    assert response.status_code == 403
    assert not SmsChallenge.objects.exists()


def test_code_step_without_csrf_token_is_refused(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = portal.client.cookies

    response = strict.post(LOGIN_CODE_URL, {"code": last_login_code()})

    assert response.status_code == 403
    assert "_auth_user_id" not in strict.session


def test_login_pages_are_never_cached(portal, cardholder):
    assert "no-store" in portal.get(LOGIN_URL)["Cache-Control"] or "no-cache" in portal.get(LOGIN_URL)["Cache-Control"]
    portal.password_step(cardholder.identifier, cardholder.password)
    assert "no-cache" in portal.get(LOGIN_CODE_URL)["Cache-Control"]
