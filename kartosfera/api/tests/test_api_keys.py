"""Creating and revoking keys: the services, their audit rows, and the management commands."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from kartosfera.api.models import ApiKey, ApiScope, IdempotencyRecord
from kartosfera.api.services import api_key_authenticate, api_key_create, api_key_revoke, idempotency_record_purge
from kartosfera.core.audit import Actor
from kartosfera.core.errors import InvalidTransition, ValidationFailed
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.testing.factories import bank_factory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")


def test_creating_a_key_returns_a_token_that_authenticates_and_audits_the_creation():
    api_key, token = api_key_create(actor=SYSTEM, name=" core banking ", scopes=["provisioning"])

    assert api_key.name == "core banking" and api_key.scopes == ["provisioning"]
    assert api_key_authenticate(token=token) == api_key
    event = AuditEvent.objects.get(action="api.api_key.created")
    assert (event.actor_type, event.object_id) == (ActorType.SYSTEM, str(api_key.pk))
    assert event.after == {
        "name": "core banking",
        "prefix": api_key.prefix,
        "scopes": ["provisioning"],
        "bank": None,
        "client_certs": [],
    }
    assert token.rsplit("_", 1)[1] not in str(event.after)


def test_a_bank_key_is_audited_with_its_bank():
    bank = bank_factory("BSA")

    api_key, _token = api_key_create(actor=SYSTEM, name="core banking", scopes=["provisioning"], bank=bank)

    assert api_key.bank == bank
    assert AuditEvent.objects.get(action="api.api_key.created").after["bank"] == "BSA"


def test_a_bank_key_may_not_have_the_processor_scope():
    with pytest.raises(ValidationFailed) as excinfo:
        api_key_create(
            actor=SYSTEM, name="x", scopes=[ApiScope.PROVISIONING, ApiScope.PROCESSOR], bank=bank_factory("BSA")
        )

    assert "scopes" in excinfo.value.field_errors
    assert not ApiKey.objects.exists()


def test_every_key_gets_its_own_prefix_and_secret():
    tokens = {api_key_create(actor=SYSTEM, name=f"k{i}", scopes=["provisioning"])[1] for i in range(5)}

    assert len(tokens) == 5
    assert ApiKey.objects.values("prefix").distinct().count() == 5


@pytest.mark.parametrize(
    ("name", "scopes", "field"),
    [
        ("", ["provisioning"], "name"),
        ("x", [], "scopes"),
        ("x", ["admin"], "scopes"),
        ("x" * 101, ["provisioning"], "name"),
    ],
)
def test_a_key_needs_a_name_and_known_scopes(name, scopes, field):
    with pytest.raises(ValidationFailed) as excinfo:
        api_key_create(actor=SYSTEM, name=name, scopes=scopes)

    assert field in excinfo.value.field_errors
    assert not ApiKey.objects.exists()


def test_revoking_a_key_stops_it_and_is_audited_once():
    api_key, token = api_key_create(actor=SYSTEM, name="old", scopes=["provisioning"])

    api_key_revoke(actor=SYSTEM, api_key=api_key)

    assert api_key_authenticate(token=token) is None
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert AuditEvent.objects.filter(action="api.api_key.revoked", object_id=str(api_key.pk)).count() == 1
    with pytest.raises(InvalidTransition):
        api_key_revoke(actor=SYSTEM, api_key=api_key)


def test_the_create_command_prints_the_token_once_and_logs_nothing_of_it(caplog):
    caplog.set_level(logging.DEBUG)
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "create_api_key", "--name", "core banking", "--scope", "provisioning", "--group", stdout=out, stderr=err
    )

    token = out.getvalue().strip()
    api_key = ApiKey.objects.get()
    assert api_key_authenticate(token=token) == api_key
    assert api_key.bank is None and "of the group" in err.getvalue()
    assert api_key.prefix in err.getvalue() and token not in err.getvalue()
    assert token.rsplit("_", 1)[1] not in caplog.text
    assert AuditEvent.objects.get(action="api.api_key.created").actor_label == "manage.py create_api_key"


def test_the_create_command_accepts_several_scopes():
    call_command(
        "create_api_key",
        "--name",
        "both",
        "--scope",
        "provisioning",
        "--scope",
        "processor",
        "--group",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    assert sorted(ApiKey.objects.get().scopes) == [ApiScope.PROCESSOR, ApiScope.PROVISIONING]


def test_the_create_command_refuses_an_unknown_scope():
    with pytest.raises(CommandError):
        call_command(
            "create_api_key", "--name", "x", "--scope", "admin", "--group", stdout=io.StringIO(), stderr=io.StringIO()
        )
    assert not ApiKey.objects.exists()


def test_the_create_command_makes_a_key_of_the_bank_it_names():
    bank_factory("BSA")
    err = io.StringIO()

    call_command(
        "create_api_key", "--name", "core", "--scope", "provisioning", "--bank", "bsa", stdout=io.StringIO(), stderr=err
    )

    assert ApiKey.objects.get().bank.code == "BSA"
    assert "of bank BSA" in err.getvalue()


@pytest.mark.parametrize(
    ("owner", "message"),
    [
        ([], "--group"),
        (["--bank", "NOPE"], "No bank has the code"),
        (["--bank", "BSA", "--scope", "processor"], "scopes: "),
    ],
)
def test_the_create_command_needs_a_known_owner_and_a_scope_it_may_have(owner, message):
    bank_factory("BSA")

    with pytest.raises(CommandError, match=message):
        call_command(
            "create_api_key",
            "--name",
            "x",
            "--scope",
            "provisioning",
            *owner,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert not ApiKey.objects.exists()


def test_the_create_command_refuses_both_a_bank_and_the_group():
    bank_factory("BSA")

    with pytest.raises(CommandError, match="not allowed with"):
        call_command(
            "create_api_key",
            "--name",
            "x",
            "--scope",
            "provisioning",
            "--bank",
            "BSA",
            "--group",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert not ApiKey.objects.exists()


def test_the_revoke_command_revokes_by_prefix():
    api_key, token = api_key_create(actor=SYSTEM, name="old", scopes=["provisioning"])
    out = io.StringIO()

    call_command("revoke_api_key", api_key.prefix, stdout=out)

    assert api_key.prefix in out.getvalue()
    assert api_key_authenticate(token=token) is None
    assert AuditEvent.objects.get(action="api.api_key.revoked").actor_label == "manage.py revoke_api_key"


@pytest.mark.parametrize("prefix", ["000000000000", ""])
def test_the_revoke_command_refuses_an_unknown_prefix(prefix):
    with pytest.raises(CommandError):
        call_command("revoke_api_key", prefix, stdout=io.StringIO())


def test_the_revoke_command_refuses_a_revoked_key():
    api_key, _token = api_key_create(actor=SYSTEM, name="old", scopes=["provisioning"])
    call_command("revoke_api_key", api_key.prefix, stdout=io.StringIO())

    with pytest.raises(CommandError):
        call_command("revoke_api_key", api_key.prefix, stdout=io.StringIO())
    assert AuditEvent.objects.filter(action="api.api_key.revoked").count() == 1


def test_old_idempotency_records_are_purged():
    api_key, _token = api_key_create(actor=SYSTEM, name="k", scopes=["provisioning"])
    old = IdempotencyRecord.objects.create(
        api_key=api_key, key="old", method="POST", path="/x", fingerprint="f", status_code=201
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=4))
    IdempotencyRecord.objects.create(
        api_key=api_key, key="new", method="POST", path="/x", fingerprint="f", status_code=201
    )

    assert idempotency_record_purge(older_than=dt.timedelta(hours=72)) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]

    out = io.StringIO()
    call_command("purge_idempotency_records", "--hours", "1", stdout=out)
    assert "0" in out.getvalue()
