from __future__ import annotations

from django.test import Client
from django.urls import reverse

from kartosfera.core.models import AuditEvent

LOGOUT_URL = reverse("users:logout")


def test_logout_ends_the_session_and_says_so(client, cardholder):
    client.force_login(cardholder.user)

    response = client.post(LOGOUT_URL, follow=True)

    assert response.redirect_chain[-1][0] == reverse("users:login")
    assert "_auth_user_id" not in client.session
    assert "Wylogowano z portalu." in response.content.decode()


def test_logout_is_audited(client, cardholder):
    client.force_login(cardholder.user)

    client.post(LOGOUT_URL)

    event = AuditEvent.objects.get(action="users.logout")
    assert event.customer_id == cardholder.customer.pk
    assert event.actor_id == str(cardholder.user.pk)


def test_logout_refuses_get(client, cardholder):
    client.force_login(cardholder.user)

    response = client.get(LOGOUT_URL)

    assert response.status_code == 405
    assert "_auth_user_id" in client.session


def test_logout_without_csrf_token_is_refused(cardholder):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cardholder.user)

    response = client.post(LOGOUT_URL)

    assert response.status_code == 403
    assert "_auth_user_id" in client.session


def test_anonymous_logout_just_goes_to_the_login_page(client, db):
    response = client.post(LOGOUT_URL)

    assert response.status_code == 302
    assert response["Location"] == reverse("users:login")
    assert not AuditEvent.objects.exists()
