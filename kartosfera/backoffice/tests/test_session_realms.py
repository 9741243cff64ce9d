"""Two session realms: a cardholder's session and a staff session never stand in for each other."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from kartosfera.testing.staff import StaffPerson, staff_client

pytestmark = pytest.mark.django_db

BO_HOME = reverse("backoffice:home")
BO_LOGIN = reverse("backoffice:login")
BO_LOGIN_CODE = reverse("backoffice:login_code")
PORTAL_LOGIN = reverse("users:login")
PORTAL_PAGES = [reverse("portal:card_list"), reverse("profile:index")]
STAFF_COOKIE = settings.STAFF_SESSION_COOKIE_NAME
PORTAL_COOKIE = settings.SESSION_COOKIE_NAME


def _staff_sign_in(client: Client, person: StaffPerson) -> None:
    response = client.post(BO_LOGIN, {"username": person.username, "password": person.password})
    assert response.status_code == 302 and response["Location"] == BO_LOGIN_CODE
    response = client.post(BO_LOGIN_CODE, {"code": person.code()})
    assert response.status_code == 302 and response["Location"] == BO_HOME


def _to_staff_login(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(BO_LOGIN)


def _to_portal_login(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(PORTAL_LOGIN)


def test_a_signed_in_cardholder_is_nobody_in_the_back_office(client, cardholder):
    """The portal session is not even read on back-office URLs: home and a customer page go to the staff login."""
    client.force_login(cardholder.user)
    assert client.get(PORTAL_PAGES[0]).status_code == 200

    assert _to_staff_login(client.get(BO_HOME))
    assert _to_staff_login(client.get(reverse("backoffice:customer", args=[cardholder.customer.pk])))


def test_a_cardholder_session_copied_into_the_staff_cookie_loads_nobody(cardholder):
    portal = Client()
    portal.force_login(cardholder.user)
    forged = Client()
    forged.cookies[STAFF_COOKIE] = portal.cookies[PORTAL_COOKIE].value

    assert _to_staff_login(forged.get(BO_HOME))
    assert _to_staff_login(forged.get(reverse("backoffice:customer", args=[cardholder.customer.pk])))


@pytest.mark.parametrize("url", PORTAL_PAGES)
def test_a_staff_member_is_nobody_in_the_portal(url, staff):
    client = staff_client(staff["supervisor"])
    assert client.get(BO_HOME).status_code == 200

    assert _to_portal_login(client.get(url))


def test_a_staff_session_copied_into_the_portal_cookie_loads_nobody(staff):
    staff_side = staff_client(staff["supervisor"])
    forged = Client()
    forged.cookies[PORTAL_COOKIE] = staff_side.cookies[STAFF_COOKIE].value

    for url in PORTAL_PAGES:
        assert _to_portal_login(forged.get(url))


def test_signing_in_as_staff_keeps_the_portal_session_of_the_same_browser(client, cardholder, staff):
    """Both cookies coexist and each session works in its own realm only."""
    client.force_login(cardholder.user)
    portal_key = client.cookies[PORTAL_COOKIE].value

    _staff_sign_in(client, staff["agent"])

    assert client.cookies[PORTAL_COOKIE].value == portal_key
    assert client.cookies[STAFF_COOKIE].value not in {"", portal_key}
    assert client.get(PORTAL_PAGES[0]).status_code == 200
    assert client.get(BO_HOME).status_code == 200
    assert int(client.session["_auth_user_id"]) == cardholder.user.pk  # the test client reads the portal cookie


def test_the_staff_cookie_has_path_slash_and_is_read_only_under_the_back_office(client, cardholder, staff):
    """Path / lets production give it the __Host- prefix; the URL, not the path, picks the realm."""
    person = staff["agent"]
    response = client.post(BO_LOGIN, {"username": person.username, "password": person.password})
    assert response.cookies[STAFF_COOKIE]["path"] == "/"
    assert PORTAL_COOKIE not in response.cookies

    response = client.post(BO_LOGIN_CODE, {"code": person.code()})

    assert response.status_code == 302
    assert response.cookies[STAFF_COOKIE]["path"] == settings.STAFF_SESSION_COOKIE_PATH == "/"
    assert response.cookies[STAFF_COOKIE]["httponly"]
    # The browser now sends the staff cookie to portal URLs as well: they do not read it.
    assert client.get(PORTAL_PAGES[0]).status_code == 302
    assert client.get(BO_HOME).status_code == 200


def test_staff_logout_ends_only_the_staff_session(client, cardholder, staff):
    client.force_login(cardholder.user)
    _staff_sign_in(client, staff["agent"])

    response = client.post(reverse("backoffice:logout"))

    assert _to_staff_login(response)
    assert _to_staff_login(client.get(BO_HOME))
    assert client.get(PORTAL_PAGES[0]).status_code == 200


def test_portal_logout_ends_only_the_portal_session(client, cardholder, staff):
    client.force_login(cardholder.user)
    _staff_sign_in(client, staff["agent"])

    client.post(reverse("users:logout"))

    assert _to_portal_login(client.get(PORTAL_PAGES[0]))
    assert client.get(BO_HOME).status_code == 200
