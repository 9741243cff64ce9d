"""The banks migrations keep every row of a single-bank database and put it under the default bank.

The database is taken back to the migrations before banks existed, filled through the historical models
(the models as those migrations knew them), and migrated forward again, as a deployment upgrading
today's data would be. On PostgreSQL this also proves the data and schema steps are split so that no
ALTER TABLE meets the data migration's pending deferred foreign-key checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

# The last migration of each app before the banks work (banks itself: none at all).
BEFORE_BANKS = [
    ("banks", None),
    ("customers", "0002_conversion_charge_sms_opt_out"),
    ("accounts", "0004_opening_balance"),
    ("cards", "0006_card_psd2_counters"),
    ("backoffice", "0001_initial"),
    ("api", "0002_scope_processor"),
    ("core", "0003_audit_delete_guard_on_sqlite"),
]
COUNTED = [
    "customers.Customer",
    "accounts.Account",
    "cards.CardProduct",
    "cards.Card",
    "backoffice.StaffMember",
    "api.ApiKey",
    "users.User",
]


def _migrate(targets: list[tuple[str, str | None]]) -> Any:
    """Migrate to ``targets``; the app registry of the state the database is in then (every app's)."""
    MigrationExecutor(connection).migrate(targets)
    loader = MigrationExecutor(connection).loader  # a fresh loader: the applied set changed
    applied = set(loader.applied_migrations)
    last = [key for key in applied if not any(child.key in applied for child in loader.graph.node_map[key].children)]
    return loader.project_state(last).apps


def _latest() -> list[tuple[str, str | None]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before_banks() -> Iterator[Any]:
    """The historical apps before the banks migrations; the database is migrated forward again afterwards."""
    try:
        yield _migrate(BEFORE_BANKS)
    finally:
        # Whatever the test did, the next tests need today's schema.
        _migrate(_latest())


def _counts(apps: Any) -> dict[str, int]:
    return {label: apps.get_model(label).objects.count() for label in COUNTED}


def _single_bank_data(apps: Any) -> None:
    """Two customers, their accounts, a product, three cards, a branch employee and an agent, an API key."""
    customer_model = apps.get_model("customers", "Customer")
    account_model = apps.get_model("accounts", "Account")
    product_model = apps.get_model("cards", "CardProduct")
    card_model = apps.get_model("cards", "Card")
    user_model = apps.get_model("users", "User")
    staff_model = apps.get_model("backoffice", "StaffMember")
    key_model = apps.get_model("api", "ApiKey")

    anna = customer_model.objects.create(
        reference="CIF-0001", residency="resident", first_name="Anna", last_name="Nowak", pesel="85031412344"
    )
    jurgen = customer_model.objects.create(
        reference="CIF-0002", residency="non_resident", first_name="Jürgen", last_name="Maier", nonresident_id="X123"
    )
    product = product_model.objects.create(
        code="VISA-CLASSIC",
        name="Visa Classic Debit",
        brand="visa",
        funding="debit",
        segment="individual",
        cash_limit_max_minor=1_000_000,
        noncash_limit_max_minor=3_000_000,
        internet_limit_max_minor=3_000_000,
        cash_limit_default_minor=200_000,
        noncash_limit_default_minor=500_000,
    )
    for number, customer in enumerate([anna, jurgen, anna], start=1):
        account = account_model.objects.create(reference=f"ACC-{number}", kind="debit", customer=customer)
        card_model.objects.create(
            reference=f"CARD-{number}",
            embossed_name="CARDHOLDER",
            pan_ciphertext="ciphertext",
            pan_fingerprint=f"fingerprint-{number}",
            pan_last4=f"000{number}",
            expiry=dt.date(2029, 12, 31),
            cash_limit_minor=200_000,
            noncash_limit_minor=500_000,
            internet_limit_minor=0,
            cash_limit_max_minor=1_000_000,
            noncash_limit_max_minor=3_000_000,
            internet_limit_max_minor=3_000_000,
            account=account,
            customer=customer,
            product=product,
        )
    for username, role in [("branch", "branch"), ("agent", "agent")]:
        user = user_model.objects.create(username=username, password="!", kind="staff")
        staff_model.objects.create(user=user, full_name=username.title(), role=role)
    key_model.objects.create(name="core banking", prefix="abc123", secret_hash="0" * 64, scopes=["provisioning"])
    key_model.objects.create(name="card processor", prefix="def456", secret_hash="1" * 64, scopes=["processor"])


def test_every_row_of_a_single_bank_database_is_kept_under_the_default_bank(before_banks):
    _single_bank_data(before_banks)
    old_references = dict(before_banks.get_model("customers", "Customer").objects.values_list("pk", "reference"))
    before = _counts(before_banks)

    apps = _migrate(_latest())

    assert _counts(apps) == before
    bank_model = apps.get_model("banks", "Bank")
    assert list(bank_model.objects.values_list("code", flat=True)) == [settings.DEFAULT_BANK_CODE]
    bank = bank_model.objects.get()
    # Every customer: exactly one membership, at the default bank, under the number the bank gave before.
    membership_model = apps.get_model("customers", "BankMembership")
    memberships = list(membership_model.objects.values_list("customer_id", "bank_id", "customer_number"))
    assert sorted(memberships) == sorted((pk, bank.pk, reference) for pk, reference in old_references.items())
    customer_model = apps.get_model("customers", "Customer")
    assert dict(customer_model.objects.values_list("pk", "reference")) == old_references
    # What the bank reads back as its own report of each person is what the person's record held.
    jurgen = membership_model.objects.get(customer_number="CIF-0002")
    assert jurgen.reported["nonresident_id"] == "X123" and jurgen.reported["last_name"] == "Maier"
    # Accounts, products and cards are the default bank's; each card's bank is its product's.
    assert set(apps.get_model("accounts", "Account").objects.values_list("bank_id", flat=True)) == {bank.pk}
    assert set(apps.get_model("cards", "CardProduct").objects.values_list("bank_id", flat=True)) == {bank.pk}
    cards = apps.get_model("cards", "Card").objects.select_related("product")
    assert cards.count() == 3
    assert all(card.bank_id == card.product.bank_id == bank.pk for card in cards)
    # The branch employee works at the default bank; the contact centre's agent is the group's.
    staff = dict(apps.get_model("backoffice", "StaffMember").objects.values_list("role", "bank_id"))
    assert staff == {"branch": bank.pk, "agent": None}
    # The core system's provisioning key becomes the default bank's key (it keeps working without
    # naming a bank); the card processor's key stays the group's.
    keys = dict(apps.get_model("api", "ApiKey").objects.values_list("prefix", "bank_id"))
    assert keys == {"abc123": bank.pk, "def456": None}


def test_a_database_without_data_gets_no_default_bank_and_the_audit_log_stays_append_only(before_banks):
    # One round trip for both checks (each takes the whole schema back and forth: the slowest tests of the suite).
    assert all(count == 0 for label, count in _counts(before_banks).items() if label != "users.User")

    apps = _migrate(_latest())

    assert not apps.get_model("banks", "Bank").objects.exists()
    assert not apps.get_model("customers", "BankMembership").objects.exists()
    # core 0004 (the events' bank_id) was undone and redone; a table rebuild would drop the triggers, and every
    # later test of the session would run without them.
    with transaction.atomic():
        audit_record(actor=Actor.system("test"), action="banks.bank.created")
    event = AuditEvent.objects.get()
    refused = ("UPDATE core_auditevent SET action = 'x' WHERE id = %s", "DELETE FROM core_auditevent WHERE id = %s")
    for sql in refused:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "banks.bank.created"
