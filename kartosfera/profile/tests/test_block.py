from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kartosfera.core.models import AuditEvent
from kartosfera.users.models import User

pytestmark = pytest.mark.django_db(transaction=True)

URL = reverse("profile:block")


def test_blocking_needs_the_explicit_confirmation(anna, cardholder):
    response = anna.post(URL, {})

    assert response.status_code == 200
    assert "Zaznacz pole" in response.content.decode()
    assert not User.objects.get(pk=cardholder.user.pk).is_access_blocked


def test_blocking_own_access_signs_out_everywhere_at_once(anna, cardholder):
    phone = Client()
    phone.force_login(cardholder.user)

    response = anna.post(URL, {"confirm": "on"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("users:login")
    assert "Dostęp do portalu został zablokowany." in response.content.decode()
    user = User.objects.get(pk=cardholder.user.pk)
    assert user.is_access_blocked and user.access_blocked_by == "customer"
    event = AuditEvent.objects.get(action="users.access.blocked")
    assert event.object_id == str(user.pk) and event.actor_id == str(user.pk)
    for client in (anna, phone):
        assert client.get(reverse("profile:index"))["Location"].startswith(reverse("users:login"))


def test_the_page_is_for_signed_in_cardholders_only(client, staff_client):
    assert client.get(URL)["Location"].startswith(reverse("users:login"))
    assert client.post(URL, {"confirm": "on"})["Location"].startswith(reverse("users:login"))
    assert staff_client.post(URL, {"confirm": "on"}).status_code == 403
    assert not AuditEvent.objects.filter(action="users.access.blocked").exists()


def test_the_form_needs_the_csrf_token(cardholder):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cardholder.user)

    assert strict.post(URL, {"confirm": "on"}).status_code == 403
    assert not User.objects.get(pk=cardholder.user.pk).is_access_blocked


def test_the_page_is_never_stored(anna):
    assert "no-store" in anna.get(URL)["Cache-Control"]
