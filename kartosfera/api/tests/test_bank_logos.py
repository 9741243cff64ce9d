"""PUT /banks/{code}/logo: the group's systems set a bank's logo; a bank's own key does not see the endpoint."""

from __future__ import annotations

import pytest
from django.test import Client

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.api.tests.conftest import BASE, audit_rows, errors_by_field
from kartosfera.banks.models import Bank
from kartosfera.banks.tests.logos import HARMLESS_SVG, png_bytes, svg_bytes
from kartosfera.core.audit import Actor
from kartosfera.testing.factories import bank_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def group_key():
    return api_key_create(actor=Actor.system("tests"), name="group hub", scopes=[ApiScope.PROVISIONING])


def put(token: str, code: str, data: bytes, content_type: str):
    client = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    return client.put(f"{BASE}/banks/{code}/logo", data, content_type=content_type)


def test_a_group_key_sets_a_png_logo_and_gets_its_address(group_key):
    api_key, token = group_key
    bank = bank_factory()

    response = put(token, bank.code, png_bytes(), "image/png")

    assert response.status_code == 200, response.content
    bank.refresh_from_db()
    assert response.json() == {
        "bank": bank.code,
        "content_type": "image/png",
        "digest": bank.logo_digest,
        "url": f"/banks/{bank.code}/logo/{bank.logo_digest}/",
    }
    assert bytes(bank.logo) == png_bytes()
    (row,) = audit_rows(api_key, "banks.bank.logo_changed")
    assert row.bank_id == bank.pk


def test_an_svg_logo_is_set_and_served_from_the_address_given(group_key, client):
    _, token = group_key
    bank = bank_factory()

    url = put(token, bank.code, HARMLESS_SVG, "image/svg+xml").json()["url"]

    assert client.get(url).content == HARMLESS_SVG


def test_a_bank_key_gets_404_even_for_its_own_bank(provisioning_key):
    api_key, token = provisioning_key

    response = put(token, api_key.bank.code, png_bytes(), "image/png")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Bank.objects.get(pk=api_key.bank_id).logo is None


def test_an_unknown_bank_is_a_404(group_key):
    _, token = group_key

    assert put(token, "NOPE", png_bytes(), "image/png").status_code == 404


@pytest.mark.parametrize(
    ("data", "content_type", "words"),
    [
        (b"%PDF-1.7 not an image", "image/png", "not a PNG"),
        (png_bytes(), "image/svg+xml", "send it as image/png"),
        (png_bytes(), "image/gif", "image/png or image/svg+xml"),
        (svg_bytes("<script>alert(1)</script>"), "image/svg+xml", "<script>"),
        (svg_bytes("", ' onload="alert(1)"'), "image/svg+xml", "event handlers"),
        (svg_bytes('<image href="https://evil.example/x.png"/>'), "image/svg+xml", "outside itself"),
        (png_bytes() + b"\0" * 102_400, "image/png", "at most 100 KB"),
    ],
)
def test_a_refused_image_is_a_422_naming_the_reason_and_changes_nothing(group_key, data, content_type, words):
    api_key, token = group_key
    bank = bank_factory()

    response = put(token, bank.code, data, content_type)

    assert response.status_code == 422
    assert words in errors_by_field(response)["logo"]
    assert Bank.objects.get(pk=bank.pk).logo is None
    assert audit_rows(api_key, "banks.bank.logo_changed") == []


def test_the_reason_is_given_in_polish_when_asked(group_key):
    _, token = group_key
    client = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "pl"})

    response = client.put(f"{BASE}/banks/{bank_factory().code}/logo", b"nope", content_type="image/png")

    assert response.status_code == 422
    assert "nie jest obrazem PNG" in errors_by_field(response)["logo"]


def test_without_a_key_it_is_a_401(db):
    response = Client().put(f"{BASE}/banks/BANK/logo", png_bytes(), content_type="image/png")

    assert response.status_code == 401
