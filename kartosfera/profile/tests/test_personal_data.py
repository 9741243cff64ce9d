from __future__ import annotations

import pytest
from django.urls import reverse

from kartosfera.customers.models import Residency
from kartosfera.profile.selectors import mask_identifier
from kartosfera.testing import factories

URL = reverse("profile:index")


def test_personal_data_is_shown_masked(anna, cardholder):
    cardholder.user.login = "anna.nowak"
    cardholder.user.save(update_fields=["login"])
    customer = cardholder.customer
    pesel = customer.pesel

    body = anna.get(URL).content.decode()

    assert "Anna Nowak" in body
    assert pesel not in body
    assert f"{pesel[:2]}******{pesel[-3:]}" in body
    assert customer.phone_on_file not in body
    assert f"*** {customer.phone_on_file[-3:]}" in body
    assert "+48 *** *** 111" in body  # the portal phone
    assert "anna.nowak" in body
    assert "14 marca 1985" in body or "14.03.1985" in body


def test_a_non_residents_identification_number_is_masked(client, db):
    customer = factories.customer_factory(residency=Residency.NON_RESIDENT, nonresident_id="NR00000021")
    client.force_login(factories.cardholder_user_factory(customer=customer))

    body = client.get(URL).content.decode()

    assert "NR00000021" not in body and "NR******21" in body


def test_nobody_elses_data_appears(anna, second_cardholder):
    body = anna.get(URL).content.decode()
    assert "Wiśniewski" not in body
    assert second_cardholder.customer.pesel[-3:] + "<" not in body


def test_the_page_is_for_signed_in_cardholders_only(client, staff_client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("users:login"))
    assert staff_client.get(URL).status_code == 403


def test_the_page_is_never_stored_and_only_read(anna):
    response = anna.get(URL)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert anna.post(URL).status_code == 405


def test_the_menu_links_to_the_settings(anna):
    body = anna.get(reverse("portal:card_list")).content.decode()
    assert f'href="{URL}"' in body and "Ustawienia" in body


@pytest.mark.parametrize(
    ("value", "head", "tail", "masked"),
    [("85031410128", 2, 3, "85******128"), ("NR00000021", 2, 2, "NR******21"), ("abc", 2, 2, "***"), (None, 2, 3, "")],
)
def test_mask_identifier(value, head, tail, masked):
    assert mask_identifier(value, head=head, tail=tail) == masked
