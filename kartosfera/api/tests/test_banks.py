"""/banks and /banks/{code}/branches: the group's systems add and change the banks; a bank's key cannot."""

from __future__ import annotations

from typing import Any

import pytest

from kartosfera.api.tests.conftest import audit_rows, errors_by_field
from kartosfera.banks.models import Bank, Branch
from kartosfera.core.models import AuditEvent
from kartosfera.testing.factories import bank_factory

pytestmark = pytest.mark.django_db

NEW_BANK = {
    "code": "BSNOWY",
    "name": "Bank Spółdzielczy w Nowym Mieście",
    "short_name": "BS Nowe Miasto",
    "settlement_number": "81230000",
    "sms_sender": "BSNowe",
}
BRANCH = {"name": "Oddział w Nowym Mieście", "street": "ul. Rynek 1", "postal_code": "00-950", "city": "Nowe Miasto"}


def test_the_group_adds_a_bank_and_the_answer_leaves_out_the_logo(group):
    response = group.post("/banks", NEW_BANK)

    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in NEW_BANK} == NEW_BANK
    assert body["has_logo"] is False and "logo" not in body and "logo_content_type" not in body
    bank = Bank.objects.get(code="BSNOWY")
    assert bank.settlement_number == "81230000"
    [row] = audit_rows(group.api_key, "banks.bank.created")
    assert row.after["code"] == "BSNOWY"


def test_the_group_lists_gets_and_changes_a_bank(group):
    bank_factory("BSB")

    assert {b["code"] for b in group.get("/banks").json()} == {"BANK", "BSB"}
    assert group.get("/banks/BSB").json()["short_name"] == "BS BSB"
    changed = group.patch("/banks/BSB", {"helpline_phone": "+48 22 123 45 67", "settlement_number": "81240009"})

    assert changed.status_code == 200, changed.content
    assert changed.json()["helpline_phone"] == "+48 22 123 45 67"
    assert Bank.objects.get(code="BSB").settlement_number == "81240009"
    [row] = audit_rows(group.api_key, "banks.bank.updated")
    assert row.after == {"helpline_phone": "+48 22 123 45 67", "settlement_number": "81240009"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"settlement_number": "81230001"}, "settlement_number"),
        ({"nip": "1234567890"}, "nip"),
        ({"code": "lower case"}, "code"),
        ({"name": None}, "name"),
        ({"logo": "iVBORw0KGgo="}, "logo"),
    ],
)
def test_a_bad_bank_is_422_naming_the_field_and_writes_nothing(group, change, field):
    response = group.post("/banks", {**NEW_BANK, **change})

    assert response.status_code == 422
    assert field in errors_by_field(response)
    assert not Bank.objects.filter(code="BSNOWY").exists()


@pytest.mark.parametrize(("change", "field"), [({"code": "BSINNY"}, "settlement_number"), ({}, "code")])
def test_a_taken_code_or_settlement_number_is_refused_naming_it(group, change, field):
    assert group.post("/banks", NEW_BANK).status_code == 201

    again = group.post("/banks", {**NEW_BANK, **change})

    assert again.status_code == 422
    assert field in errors_by_field(again)
    assert Bank.objects.filter(settlement_number="81230000").count() == 1


def test_the_group_adds_lists_and_changes_branches(group):
    bank_factory("BSB")

    created = group.post("/banks/BSB/branches", BRANCH)

    assert created.status_code == 201, created.content
    branch_id = created.json()["id"]
    assert created.json()["bank"] == "BSB"
    assert [b["name"] for b in group.get("/banks/BSB/branches").json()] == [BRANCH["name"]]
    assert group.get("/banks/BANK/branches").json() == []
    changed = group.patch(f"/banks/BSB/branches/{branch_id}", {"opening_hours": "Pn-Pt 8-16"})
    assert changed.status_code == 200 and changed.json()["opening_hours"] == "Pn-Pt 8-16"
    assert audit_rows(group.api_key, "banks.branch.created") and audit_rows(group.api_key, "banks.branch.updated")


def test_a_branch_is_reached_only_through_its_own_bank(group):
    branch = Branch.objects.create(bank=bank_factory("BSB"), name="B1", street="S", postal_code="00-001", city="C")

    response = group.patch(f"/banks/BANK/branches/{branch.pk}", {"city": "Elsewhere"})

    assert response.status_code == 404
    branch.refresh_from_db()
    assert branch.city == "C"


def test_a_bad_branch_is_422(group):
    response = group.post("/banks/BANK/branches", {**BRANCH, "postal_code": "00950"})

    assert response.status_code == 422
    assert "postal_code" in errors_by_field(response)
    assert not Branch.objects.exists()


@pytest.mark.parametrize(("method", "path"), [("get", "/banks"), ("post", "/banks")])
def test_a_bank_key_gets_403_on_the_banks_collection(bank, method, path):
    response = bank.get(path) if method == "get" else bank.post(path, NEW_BANK)

    assert response.status_code == 403
    assert response.json()["code"] == "group_key_required"
    assert not Bank.objects.filter(code="BSNOWY").exists()


def _bank_key_calls(branch_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("get", "/banks/BANK", None),
        ("patch", "/banks/BANK", {"short_name": "Mine"}),
        ("get", "/banks/BANK/branches", None),
        ("post", "/banks/BANK/branches", BRANCH),
        ("patch", f"/banks/BANK/branches/{branch_id}", {"city": "X"}),
    ]


def test_a_bank_key_gets_404_for_every_bank_and_branch_its_own_included(bank):
    branch = Branch.objects.create(bank=bank_factory(), name="B1", street="S", postal_code="00-001", city="C")
    before = AuditEvent.objects.count()

    for method, path, body in _bank_key_calls(branch.pk):
        response = getattr(bank, method)(path, body) if body is not None else bank.get(path)
        assert response.status_code == 404, (method, path)

    assert AuditEvent.objects.count() == before
    assert Bank.objects.get(code="BANK").short_name != "Mine"


@pytest.mark.parametrize("code", ["NOPE", "x" * 100])
def test_an_unknown_bank_is_404(group, code):
    assert group.get(f"/banks/{code}").status_code == 404
    assert group.get(f"/banks/{code}/branches").status_code == 404


def test_the_lists_take_a_fixed_number_of_queries(group, django_assert_max_num_queries):
    for code in ("BSB", "BSC", "BSD", "BSE"):
        bank = bank_factory(code)
        for n in range(3):
            Branch.objects.create(bank=bank, name=f"B{n}", street="S", postal_code="00-001", city="C")

    with django_assert_max_num_queries(4):
        assert len(group.get("/banks").json()) == 5
    with django_assert_max_num_queries(4):
        assert len(group.get("/banks/BSB/branches").json()) == 3
