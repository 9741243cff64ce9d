from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Residency
from kartosfera.profile.tests.conftest import ANNAS_PHONE
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to, texts_to
from kartosfera.testing import factories
from kartosfera.testing.factories import DEFAULT_PASSWORD
from kartosfera.users.models import User
from kartosfera.users.selectors import cardholder_find_by_identifier

pytestmark = pytest.mark.django_db(transaction=True)

URL = reverse("profile:login")


def test_setting_a_login_needs_the_code_and_then_signs_in_by_it(anna, cardholder):
    response = anna.post(URL, {"login": "Anna.Nowak_85", "current_password": DEFAULT_PASSWORD})
    challenge_from(response)
    assert User.objects.get(pk=cardholder.user.pk).login is None
    assert "ustawienie loginu do portalu: anna.nowak_85" in texts_to(ANNAS_PHONE)[-1]

    done = anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)}, follow=True)

    assert done.redirect_chain[-1][0] == reverse("profile:index")
    user = User.objects.get(pk=cardholder.user.pk)
    # Stored in lower case: logins are the same whatever the case.
    assert user.login == "anna.nowak_85"
    assert cardholder_find_by_identifier(identifier="ANNA.NOWAK_85") == user
    event = AuditEvent.objects.get(action="users.own_login.changed")
    assert event.before == {"login": None} and event.after == {"login": "anna.nowak_85"}
    assert "anna.nowak_85" in anna.get(reverse("profile:index")).content.decode()
    # A sign-in identifier is an authentication detail: the portal phone hears of the change [ASVS 5.0 6.3.7],
    # and the notice does not repeat the login.
    notice = texts_to(ANNAS_PHONE)[-1]
    assert "zmieniono Twoj login do portalu" in notice
    assert "anna.nowak_85" not in notice


@pytest.mark.parametrize(
    ("login", "message"),
    [
        ("ania", "od 5 do 64 znaków"),
        ("a" * 65, "co najwyżej 64"),
        ("łucja.nowak", "Użyj tylko liter łacińskich"),
        ("anna nowak", "Użyj tylko liter łacińskich"),
        ("85031412345", "nie może składać się z samych cyfr"),
        ("123456", "nie może składać się z samych cyfr"),
        ("NR00000021", "nie może wyglądać jak numer identyfikacyjny"),
        ("ab123456", "nie może wyglądać jak numer identyfikacyjny"),
    ],
)
def test_a_login_against_the_rules_is_refused_with_a_clear_message(anna, login, message):
    response = anna.post(URL, {"login": login, "current_password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert texts_to(ANNAS_PHONE) == []


def test_a_login_equal_to_any_customers_identification_number_is_refused(anna):
    factories.customer_factory(residency=Residency.NON_RESIDENT, nonresident_id="XKAB-7781")

    response = anna.post(URL, {"login": "xkab-7781", "current_password": DEFAULT_PASSWORD})

    assert "nie może wyglądać jak numer identyfikacyjny" in response.content.decode()


def test_a_login_taken_by_somebody_else_in_any_case_is_refused(anna, second_cardholder):
    second_cardholder.user.login = "bartek.w"
    second_cardholder.user.save(update_fields=["login"])

    response = anna.post(URL, {"login": "Bartek.W", "current_password": DEFAULT_PASSWORD})

    assert "Ten login jest już zajęty." in response.content.decode()
    assert texts_to(ANNAS_PHONE) == []


def test_a_login_taken_while_the_code_was_on_its_way_is_not_set(anna, cardholder, second_cardholder):
    response = anna.post(URL, {"login": "wspolny.login", "current_password": DEFAULT_PASSWORD})
    second_cardholder.user.login = "wspolny.login"
    second_cardholder.user.save(update_fields=["login"])

    done = anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)}, follow=True)

    assert done.redirect_chain[-1][0] == URL
    assert "Ten login jest już zajęty." in done.content.decode()
    assert User.objects.get(pk=cardholder.user.pk).login is None
    assert AuditEvent.objects.filter(action="sca.operation.refused").count() == 1


def test_the_same_login_again_is_refused(anna, cardholder):
    cardholder.user.login = "anna.nowak"
    cardholder.user.save(update_fields=["login"])

    response = anna.post(URL, {"login": "Anna.Nowak", "current_password": DEFAULT_PASSWORD})
    assert "To już jest Twój login." in response.content.decode()


def test_the_page_is_for_signed_in_cardholders_only(client, staff_client):
    assert client.get(URL)["Location"].startswith(reverse("users:login"))
    assert client.post(URL, {"login": "anna.nowak"})["Location"].startswith(reverse("users:login"))
    assert staff_client.get(URL).status_code == 403


def test_the_form_needs_the_csrf_token(cardholder):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cardholder.user)
    assert strict.post(URL, {"login": "anna.nowak"}).status_code == 403
