"""The authentication value: it verifies for its payment only, expires, and works once (also under a race)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from kartosfera.acs.models import AuthenticationRecord, RecordStatus
from kartosfera.acs.services import (
    AUTHENTICATION_VALUE_VALIDITY,
    AuthenticationValueInvalid,
    areq_answer,
    authentication_value_verify,
)
from kartosfera.acs.tests.helpers import CHALLENGE_URL, DS, areq, with_threeds_pin
from kartosfera.core.models import AuditEvent
from kartosfera.processing.tests.helpers import active_card
from kartosfera.testing.concurrency import run_together

NOW = timezone.now()


def _authenticated(**overrides):
    tc = active_card()
    with_threeds_pin(tc)
    ares = json.loads(
        areq_answer(actor=DS, areq=areq(tc, purchaseAmount="2500", **overrides), challenge_url=CHALLENGE_URL, now=NOW)
    )
    assert ares["transStatus"] == "Y"
    return tc, ares["authenticationValue"]


def _payment(tc, **overrides):
    values = {
        "card": tc.card,
        "amount_minor": 2500,
        "currency": "PLN",
        "merchant_id": "MERCHANT-001",
        "eci": "05",
        "now": NOW,
    }
    values.update(overrides)
    return values


@pytest.mark.django_db
def test_the_value_verifies_once_and_is_then_used():
    tc, value = _authenticated()
    record = authentication_value_verify(value, **_payment(tc))
    assert record.status == RecordStatus.USED and record.used_at == NOW
    assert AuditEvent.objects.filter(action="acs.authentication.used", bank_id=tc.card.bank_id).count() == 1
    with pytest.raises(AuthenticationValueInvalid):
        authentication_value_verify(value, **_payment(tc))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"amount_minor": 2501},
        {"currency": "EUR"},
        {"currency": "978"},
        {"merchant_id": "MERCHANT-002"},
    ],
)
def test_the_value_fails_when_a_covered_field_changes(change):
    tc, value = _authenticated()
    with pytest.raises(AuthenticationValueInvalid):
        authentication_value_verify(value, **_payment(tc, **change))
    assert AuthenticationRecord.objects.get(authentication_value=value).status == RecordStatus.AUTHENTICATED


@pytest.mark.django_db
def test_the_value_fails_for_another_card():
    tc, value = _authenticated()
    other = active_card()
    with pytest.raises(AuthenticationValueInvalid):
        authentication_value_verify(value, **_payment(tc, card=other.card))


@pytest.mark.django_db
def test_the_numeric_currency_code_verifies_too():
    tc, value = _authenticated()
    authentication_value_verify(value, **_payment(tc, currency="985"))


@pytest.mark.django_db
def test_the_value_expires():
    tc, value = _authenticated()
    with pytest.raises(AuthenticationValueInvalid):
        authentication_value_verify(value, **_payment(tc, now=NOW + AUTHENTICATION_VALUE_VALIDITY))
    just_before = NOW + AUTHENTICATION_VALUE_VALIDITY - dt.timedelta(seconds=1)
    authentication_value_verify(value, **_payment(tc, now=just_before))


@pytest.mark.django_db
def test_a_value_changed_in_one_character_or_made_up_fails():
    tc, value = _authenticated()
    flipped = ("B" if value[0] == "A" else "A") + value[1:]
    for bad in (flipped, "", "A" * 28):
        with pytest.raises(AuthenticationValueInvalid):
            authentication_value_verify(bad, **_payment(tc))


@pytest.mark.django_db
def test_the_value_depends_on_the_key():
    tc, value = _authenticated()
    with override_settings(ACS_AUTHENTICATION_KEY="another-key-" + "0" * 30), pytest.raises(AuthenticationValueInvalid):
        authentication_value_verify(value, **_payment(tc))


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
@pytest.mark.django_db(transaction=True)
def test_two_payments_racing_with_one_value_only_one_wins():
    tc, value = _authenticated()
    outcomes = run_together(
        lambda: authentication_value_verify(value, **_payment(tc)),
        lambda: authentication_value_verify(value, **_payment(tc)),
        expected=(AuthenticationValueInvalid,),
    )
    assert sum(isinstance(outcome, AuthenticationRecord) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, AuthenticationValueInvalid) for outcome in outcomes) == 1
