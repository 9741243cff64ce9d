"""manage.py bank_create: adds a bank through the audited service, says what it made, refuses bad input."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kartosfera.banks.models import Bank
from kartosfera.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_the_command_creates_the_bank_prints_it_and_audits_it():
    out = io.StringIO()

    call_command(
        "bank_create",
        "bsnowy",
        "--name",
        "Bank Spółdzielczy w Nowym Mieście",
        "--short-name",
        "BS Nowe Miasto",
        "--settlement-number",
        "81230000",
        "--sms-sender",
        "BSNowe",
        stdout=out,
    )

    bank = Bank.objects.get(code="BSNOWY")
    assert (bank.short_name, bank.settlement_number, bank.sms_sender) == ("BS Nowe Miasto", "81230000", "BSNowe")
    assert "Created bank BSNOWY" in out.getvalue() and "81230000" in out.getvalue()
    event = AuditEvent.objects.get(action="banks.bank.created")
    assert event.actor_label == "manage.py bank_create"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--settlement-number", "81230001"], "settlement_number"),
        (["--brand-colour", "#ffff00"], "brand_colour"),
        (["--nip", "123"], "nip"),
    ],
)
def test_bad_input_is_a_clear_error_and_creates_nothing(extra, message):
    with pytest.raises(CommandError, match=message):
        call_command("bank_create", "BSX", "--name", "B", "--short-name", "B", *extra, stdout=io.StringIO())

    assert not Bank.objects.filter(code="BSX").exists()


def test_a_taken_code_is_refused():
    call_command("bank_create", "BSX", "--name", "B", "--short-name", "B", stdout=io.StringIO())

    with pytest.raises(CommandError, match="code"):
        call_command("bank_create", "BSX", "--name", "C", "--short-name", "C", stdout=io.StringIO())
    assert Bank.objects.get(code="BSX").name == "B"


def test_the_name_and_short_name_are_required():
    with pytest.raises(CommandError):
        call_command("bank_create", "BSX", "--name", "B", stdout=io.StringIO())
