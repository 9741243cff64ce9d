"""The card's controls are data: one registry (cards/controls.py) that every reader iterates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext_lazy

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.cards import controls as registry
from kartosfera.cards.controls import (
    CONTROLS,
    ControlDefinition,
    ControlKind,
    amount_limits,
    missing_columns,
    registered,
)
from kartosfera.cards.models import Card, CardProduct
from kartosfera.cards.operations_services import card_activate, card_contactless_set, card_limits_change
from kartosfera.cards.stepup_operations import describe_limits_change, limits_change_payload
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_client

SYSTEM = Actor.system("tests")
ROOT = Path(settings.BASE_DIR)
# getattr/setattr with a computed ("f-string") attribute name: how the limits' columns were read in eight places.
COMPUTED_ATTRIBUTE = re.compile(r"\b(?:getattr|setattr)\(\s*[^,()]+,\s*f[\"']")


def test_no_code_reads_a_column_by_a_computed_name_outside_the_registry():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "kartosfera").rglob("*.py")) + sorted((ROOT / "config").rglob("*.py"))
        if path not in {ROOT / "kartosfera" / "cards" / "controls.py", Path(__file__)}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if COMPUTED_ATTRIBUTE.search(line)
    ]
    assert offenders == []


def test_the_pattern_finds_what_it_looks_for():
    assert COMPUTED_ATTRIBUTE.search('value = getattr(card, f"{channel}_limit_minor")')
    assert COMPUTED_ATTRIBUTE.search("setattr(card, f'{c}_limit_minor', 1)")
    assert not COMPUTED_ATTRIBUTE.search('getattr(user, "is_bank_staff", False)')


def test_every_registered_control_has_its_columns():
    assert missing_columns() == []


def test_a_control_registered_without_its_columns_is_reported():
    ghost = ControlDefinition(name="ghost", kind=ControlKind.AMOUNT_LIMIT, channel="cash", label="Ghost")
    with registered(ghost):
        assert missing_columns() == [
            "cards.Card.ghost_limit_minor",
            "cards.Card.ghost_limit_max_minor",
            "cards.CardProduct.ghost_limit_max_minor",
            "cards.CardProduct.ghost_limit_default_minor",
        ]
    assert "ghost" not in CONTROLS


def test_the_database_guard_is_generated_for_every_limit():
    card_rules = {c.name for c in Card._meta.constraints}
    product_rules = {c.name for c in CardProduct._meta.constraints}
    for d in amount_limits():
        assert f"card_{d.name}_lte_max" in card_rules
        assert f"card_{d.value_field}_gte_0" in card_rules
        assert any(name.startswith(f"product_{d.name}_default_lte_max") for name in product_rules)
        if d.part_of:
            assert f"card_{d.name}_lte_{d.part_of}" in card_rules
            assert f"product_{d.name}_max_lte_{d.part_of}_max" in product_rules


def test_the_database_refuses_internet_above_noncash_even_past_the_services(card):
    with pytest.raises(IntegrityError), transaction.atomic():
        Card.objects.filter(pk=card.pk).update(noncash_limit_minor=100, internet_limit_minor=101)


def test_the_card_reads_its_limits_and_switches_through_the_controls(card):
    controls = card.controls
    assert controls.limits_minor() == {"cash": 200_000, "noncash": 500_000, "internet": 0}
    assert card.limit("cash") == controls.limit("cash")  # the pipeline's Card.limit stays a delegate
    assert [limit.name for limit in controls.limits] == ["cash", "noncash", "internet"]
    assert controls.ceiling_minor("internet") == 500_000
    assert controls.ceiling_minor("internet", proposed={"noncash": 1_000}) == 1_000
    assert controls.is_on("contactless") is True
    assert controls.is_on("mobile_payments") is False


def test_a_switch_the_product_withdrew_is_off_for_the_pipeline(card):
    card_contactless_set(actor=SYSTEM, card=card_activate(actor=SYSTEM, card=card), enabled=False)
    card.refresh_from_db()
    assert card.controls.is_on("contactless") is False
    card.contactless_enabled = True
    card.product.contactless_capable = False
    assert card.controls.switch("contactless").enabled is True
    assert card.controls.is_on("contactless") is False


def test_an_unknown_control_is_refused_with_its_name(card):
    with pytest.raises(ValidationFailed) as refused:
        card.controls.check({"atm": 0})
    assert set(refused.value.field_errors) == {"atm"}


def test_a_partial_change_keeps_the_other_limits(card):
    active = card_activate(actor=SYSTEM, card=card)
    assert card_limits_change(actor=SYSTEM, card=active, limits={"internet": 300_000}) is True
    active.refresh_from_db()
    assert active.controls.limits_minor() == {"cash": 200_000, "noncash": 500_000, "internet": 300_000}


# --- A new control is one place ----------------------------------------------------------

# A throwaway amount limit. A test cannot add a column to the database, so this one is stored
# in the cash limit's columns; a real control declares its own (docs/decisions/0011: the fields
# on Card and CardProduct and `makemigrations`; test_every_registered_control_has_its_columns
# fails until they exist). Everything else below comes from this one definition.
ABROAD = ControlDefinition(
    name="abroad_cash",
    kind=ControlKind.AMOUNT_LIMIT,
    channel="cash",
    label=gettext_lazy("Cash abroad limit"),
    hint=gettext_lazy("ATM withdrawals abroad per day"),
    sms_change=gettext_lazy("change of the cash abroad limit of card %(card)s to %(amount)s"),
    sms_part=gettext_lazy("cash abroad %(amount)s"),
    value_field="cash_limit_minor",
    max_field="cash_limit_max_minor",
    product_max_field="cash_limit_max_minor",
    product_default_field="cash_limit_default_minor",
)


@pytest.fixture
def abroad():
    with registered(ABROAD):
        yield ABROAD


@pytest.fixture
def active(card) -> Card:
    return card_activate(actor=SYSTEM, card=card)


def test_a_new_control_appears_on_the_limits_form_and_the_card_page(abroad, client, cardholder, active):
    client.force_login(cardholder.user)
    form = client.get(reverse("portal:card_limits", kwargs={"card_id": active.pk})).content.decode()
    assert 'name="abroad_cash"' in form
    assert "Cash abroad limit" in form

    page = client.get(reverse("portal:card_detail", kwargs={"card_id": active.pk})).content.decode()
    assert "Cash abroad limit" in page
    assert "ATM withdrawals abroad per day" in page


def test_a_new_control_appears_in_the_api_and_the_back_office(abroad, active, cardholder, staff):
    _key, token = api_key_create(actor=SYSTEM, name="core banking", scopes=[ApiScope.PROVISIONING], bank=active.bank)
    api = Client(headers={"Authorization": f"Bearer {token}"})
    body = api.get(f"/api/provisioning/v1/cards/{active.reference}").json()
    assert {k: v for k, v in body["controls"][3].items() if k not in {"enabled", "count"}} == {
        "name": "abroad_cash",
        "kind": "amount_limit",
        "value_minor": 200_000,
        "max_minor": 1_000_000,
    }

    product = api.get(f"/api/provisioning/v1/card-products/{active.product.code}").json()
    assert {k: v for k, v in product["controls"][3].items() if k != "available"} == {
        "name": "abroad_cash",
        "kind": "amount_limit",
        "max_minor": 1_000_000,
        "default_minor": 200_000,
    }

    page = staff_client(staff["agent"]).get(reverse("backoffice:customer", args=[cardholder.customer.pk]))
    assert "Cash abroad limit" in page.content.decode()


def test_the_api_lists_every_control_of_a_card_and_a_product(active):
    _key, token = api_key_create(actor=SYSTEM, name="core banking", scopes=[ApiScope.PROVISIONING], bank=active.bank)
    api = Client(headers={"Authorization": f"Bearer {token}"})
    card = api.get(f"/api/provisioning/v1/cards/{active.reference}").json()
    # A count limit's value is its own field; null for the others and for a count limit not set.
    assert [{k: v for k, v in control.items() if k != "count"} for control in card["controls"]] == [
        {"name": "cash", "kind": "amount_limit", "value_minor": 200_000, "max_minor": 1_000_000, "enabled": None},
        {"name": "noncash", "kind": "amount_limit", "value_minor": 500_000, "max_minor": 3_000_000, "enabled": None},
        {"name": "internet", "kind": "amount_limit", "value_minor": 0, "max_minor": 3_000_000, "enabled": None},
        {"name": "contactless", "kind": "switch", "value_minor": None, "max_minor": None, "enabled": True},
        {"name": "mobile_payments", "kind": "switch", "value_minor": None, "max_minor": None, "enabled": False},
        *(
            {"name": name, "kind": "switch", "value_minor": None, "max_minor": None, "enabled": True}
            for name in ("atm", "online", "magstripe", "abroad", "moto")
        ),
        *(
            {"name": name, "kind": "count_limit", "value_minor": None, "max_minor": None, "enabled": None}
            for name in ("atm_count", "pos_count", "online_count")
        ),
    ]
    assert all(control["count"] is None for control in card["controls"])
    product = api.get(f"/api/provisioning/v1/card-products/{active.product.code}").json()
    assert [(c["name"], c["max_minor"], c["default_minor"], c["available"]) for c in product["controls"]] == [
        ("cash", 1_000_000, 200_000, None),
        ("noncash", 3_000_000, 500_000, None),
        ("internet", 3_000_000, 0, None),
        ("contactless", None, None, True),
        ("mobile_payments", None, None, True),
        *((name, None, None, True) for name in ("atm", "online", "magstripe", "abroad", "moto")),
    ]


def test_a_new_control_is_checked_and_named_in_the_sms(abroad, active):
    with pytest.raises(ValidationFailed) as refused:
        active.controls.check({"abroad_cash": 1_000_001})
    assert set(refused.value.field_errors) == {"abroad_cash"}

    payload = limits_change_payload(active, {"abroad_cash": 300_000})
    assert payload["abroad_cash_minor"] == 300_000
    assert payload["abroad_cash_before_minor"] == 200_000
    text = describe_limits_change(payload=payload, card=active).replace("\xa0", " ")
    assert text == f"change of the cash abroad limit of card *{active.pan_last4} to 3 000,00 PLN"


def test_the_throwaway_control_is_gone_after_the_test():
    assert "abroad_cash" not in CONTROLS
    assert registry.control("cash").kind == ControlKind.AMOUNT_LIMIT


# --- What the back office shows -----------------------------------------------------------


def test_the_customer_file_shows_each_cards_limits_and_switches(staff, cardholder, card):
    factories.card_factory(customer=cardholder.customer, product=card.product)
    page = staff_client(staff["agent"]).get(reverse("backoffice:customer", args=[cardholder.customer.pk]))
    html = page.content.decode().replace("\xa0", " ")
    assert html.count("<dt>Limit gotówkowy</dt><dd>2 000,00 zł dziennie (maksimum 10 000,00 zł)</dd>") == 2
    assert html.count("<dt>Limit internetowy</dt><dd>0,00 zł dziennie (maksimum 30 000,00 zł)</dd>") == 2
    assert html.count("<dt>Płatności zbliżeniowe</dt><dd>włączone</dd>") == 2
    assert html.count("<dt>Płatności mobilne</dt><dd>wyłączone</dd>") == 2


def test_a_part_of_another_limit_must_say_so_in_its_texts():
    with pytest.raises(ValueError, match="part of"):
        ControlDefinition(
            name="abroad_internet", kind=ControlKind.AMOUNT_LIMIT, channel="internet", label="X", part_of="internet"
        )
