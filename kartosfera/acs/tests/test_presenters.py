"""An authentication's result in words, for every way it can end: from the stored fields and from real records."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from kartosfera.acs.models import RecordStatus
from kartosfera.acs.presenters import Outcome, authentication_amount, authentication_result, record_result
from kartosfera.acs.tests import records
from kartosfera.cards.models import CardStatus
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import StatusReason
from kartosfera.processing.tests.helpers import active_card
from kartosfera.secure3d.services import threeds_failure_record
from kartosfera.testing import factories


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("fields", "outcome", "text"),
    [
        (
            {"trans_status": "Y", "rule": "low_value", "exemption": "low_value", "status": "authenticated"},
            Outcome.EXEMPT,
            "Without confirmation: low-value payment",
        ),
        (
            {"trans_status": "Y", "rule": "trusted_merchant", "exemption": "trusted_merchant", "status": "used"},
            Outcome.EXEMPT,
            "Without confirmation: trusted merchant",
        ),
        (
            {"trans_status": "C", "rule": "challenge", "status": "challenge_pending"},
            Outcome.PENDING,
            "Waiting for confirmation",
        ),
        (
            {"trans_status": "Y", "rule": "challenge", "status": "authenticated"},
            Outcome.CONFIRMED,
            "Confirmed with the 3-D Secure PIN and SMS code",
        ),
        (
            {"trans_status": "Y", "rule": "challenge_requested", "status": "used"},
            Outcome.CONFIRMED,
            "Confirmed with the 3-D Secure PIN and SMS code",
        ),
        (
            {"trans_status": "N", "reason": "09", "rule": "challenge", "status": "failed"},
            Outcome.NOT_CONFIRMED,
            "Not confirmed: wrong PIN or code",
        ),
        (
            {"trans_status": "N", "reason": "14", "rule": "challenge", "status": "timed_out"},
            Outcome.NOT_CONFIRMED,
            "Not confirmed: timed out",
        ),
        (
            {"trans_status": "N", "reason": "09", "rule": "challenge", "status": "failed", "challenge_cancel": "01"},
            Outcome.NOT_CONFIRMED,
            "Not confirmed: cancelled",
        ),
        (
            {"trans_status": "N", "reason": "19", "rule": "challenge", "status": "failed"},
            Outcome.NOT_CONFIRMED,
            "Not confirmed: wrong PIN or code; internet payments are now locked",
        ),
        (
            {"trans_status": "N", "reason": "09", "rule": "no_threeds_pin", "status": "failed"},
            Outcome.NOT_CONFIRMED,
            "Not confirmed: no 3-D Secure PIN set",
        ),
        (
            {"trans_status": "N", "reason": "19", "rule": "internet_payments_locked", "status": "not_authenticated"},
            Outcome.NOT_CONFIRMED,
            "Not confirmed: internet payments locked",
        ),
        (
            {"trans_status": "R", "reason": "12", "rule": "card_blocked_by_bank", "status": "not_authenticated"},
            Outcome.REFUSED,
            "Refused: the card is blocked by the bank",
        ),
        (
            {"trans_status": "N", "reason": "12", "rule": "card_blocked_by_holder", "status": "not_authenticated"},
            Outcome.REFUSED,
            "Refused: the card is blocked",
        ),
        (
            {"trans_status": "R", "reason": "10", "rule": "card_stolen", "status": "not_authenticated"},
            Outcome.REFUSED,
            "Refused: the card is reported stolen",
        ),
        (
            {"trans_status": "N", "reason": "05", "rule": "card_expired", "status": "not_authenticated"},
            Outcome.REFUSED,
            "Refused: the card has expired",
        ),
        (
            {"trans_status": "N", "reason": "20", "rule": "not_payment", "status": "not_authenticated"},
            Outcome.REFUSED,
            "Refused: not a payment",
        ),
        (
            {"trans_status": "N", "reason": "08", "rule": "card_unknown", "status": "not_authenticated"},
            Outcome.REFUSED,
            "Refused: no card with this number",
        ),
        # A rule this version does not know yet still reads as a result, never as its code.
        (
            {"trans_status": "N", "reason": "01", "rule": "some_future_rule", "status": "not_authenticated"},
            Outcome.NOT_CONFIRMED,
            "Not confirmed: not authenticated",
        ),
    ],
)
def test_every_result_in_words(fields, outcome, text):
    result = authentication_result(**fields)

    assert (result.outcome, result.text) == (outcome, text)


def test_an_audit_row_without_the_record_status_reads_the_same():
    # The audit rows keep the fields but not the record's status: the challenge's end must read the same.
    ended = {"trans_status": "N", "reason": "14", "rule": "challenge"}
    assert authentication_result(**ended).text == "Not confirmed: timed out"
    assert authentication_result(trans_status="C", rule="challenge").outcome == Outcome.PENDING


def test_the_results_words_in_polish_differ_from_the_codes():
    with translation.override("pl"):
        text = authentication_result(trans_status="Y", rule="low_value", exemption="low_value").text
    assert "low_value" not in text and text


@pytest.mark.parametrize(
    ("language", "minor", "currency", "expected"),
    [
        ("pl", 5000, "985", "50,00\xa0zł"),
        ("en", 5000, "985", "PLN\xa050.00"),
        ("pl", 123456, "978", "1\xa0234,56\xa0EUR"),
        ("pl", 1250, "840", "12,50\xa0USD"),
        ("pl", 500, "392", "500\xa0JPY"),
        # A currency the ACS does not know by name: its numeric code and the AReq's exponent.
        ("pl", 12345, "999", "123,45\xa0999"),
    ],
)
def test_the_amount_in_the_readers_format(language, minor, currency, expected):
    with translation.override(language):
        assert authentication_amount(minor, currency).replace("\u202f", "\xa0") == expected


@pytest.mark.django_db
def test_real_records_read_as_they_ended(cardholder, debit_product):
    from kartosfera.processing.tests.helpers import card_of

    tc = card_of(cardholder.customer, debit_product)
    results = {
        "low value": record_result(records.answered(tc)).text,
        "trusted": record_result(records.trusted(tc)).text,
        "pending": record_result(records.challenged(tc)).text,
        "confirmed": record_result(records.confirmed(tc)).text,
        "wrong": record_result(records.not_confirmed(tc)).text,
        "timed out": record_result(records.not_confirmed(tc, reason="14", challenge_cancel="05")).text,
        "cancelled": record_result(records.not_confirmed(tc, challenge_cancel="01")).text,
    }
    assert results == {
        "low value": "Without confirmation: low-value payment",
        "trusted": "Without confirmation: trusted merchant",
        "pending": "Waiting for confirmation",
        "confirmed": "Confirmed with the 3-D Secure PIN and SMS code",
        "wrong": "Not confirmed: wrong PIN or code",
        "timed out": "Not confirmed: timed out",
        "cancelled": "Not confirmed: cancelled",
    }


@pytest.mark.django_db
def test_a_locked_holder_and_a_blocked_card_read_as_such():
    tc = active_card()
    for _ in range(3):
        threeds_failure_record(customer=tc.card.customer, now=timezone.now())
    locked = records.answered(tc)
    assert record_result(locked).text == "Not confirmed: internet payments locked"

    other = active_card()
    card_transition(
        actor=factories.SYSTEM, card=other.card, to_status=CardStatus.BLOCKED, reason=StatusReason.BLOCKED_BY_BANK
    )
    refused = records.answered(other)
    assert refused.status == RecordStatus.NOT_AUTHENTICATED
    assert record_result(refused).text == "Refused: the card is blocked by the bank"
