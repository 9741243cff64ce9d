"""The banks' brand colours reach the pages as a stylesheet from our own origin (no inline style)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kartosfera.banks.services import bank_update
from kartosfera.testing.factories import SYSTEM, bank_factory

pytestmark = pytest.mark.django_db


def test_each_bank_with_a_colour_gets_a_rule_with_white_text_and_a_bank_without_none():
    bank_factory("BSNIEBIESKI", brand_colour="#1D4E89")
    bank_factory("BSBEZKOLORU")

    response = Client().get(reverse("banks:colours"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    css = response.content.decode()
    assert '.bank-badge[data-bank="BSNIEBIESKI"]' in css
    assert "background-color: #1D4E89; color: #ffffff;" in css
    assert "BSBEZKOLORU" not in css


def test_the_stylesheet_is_cached_briefly_and_revalidated_and_follows_a_change():
    bank = bank_factory("BSZIELONY", brand_colour="#006633")
    client = Client()
    first = client.get(reverse("banks:colours"))
    assert first["Cache-Control"] == "public, max-age=300"

    again = client.get(reverse("banks:colours"), headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""

    bank_update(actor=SYSTEM, bank=bank, brand_colour="#7A1F1F")
    changed = client.get(reverse("banks:colours"), headers={"If-None-Match": first["ETag"]})
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    assert "#7A1F1F" in changed.content.decode()


def test_every_page_links_the_colours_and_a_card_names_its_bank_for_them(client, cardholder, card):
    client.force_login(cardholder.user)
    page = client.get(reverse("portal:card_list")).content.decode()
    assert f'<link rel="stylesheet" href="{reverse("banks:colours")}">' in page
    assert f'data-bank="{card.bank.code}"' in page
