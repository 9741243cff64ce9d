"""Reviewing what the card core flagged: the queue's read and marking one reviewed (processing/reviews.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from kartosfera.core.errors import ValidationFailed
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.processing.advices import advice_record
from kartosfera.processing.models import Authorization, AuthorizationReview
from kartosfera.processing.reviews import (
    AuthorizationNotFlagged,
    ReviewState,
    authorization_review_mark,
    authorization_review_queue,
)
from kartosfera.processing.tests.helpers import PROCESSOR, active_card, decide, request_for
from kartosfera.testing.concurrency import run_together
from kartosfera.testing.staff import staff_person_create

pytestmark = pytest.mark.django_db


def stand_in(tc, **overrides) -> Authorization:
    """An ATM withdrawal the scheme approved in stand-in, far past the card's limit and the funds."""
    request = request_for(tc, amount_minor=overrides.pop("amount_minor", 9_000_000), channel="atm", **overrides)
    return advice_record(
        actor=PROCESSOR, request=request, approved=True, response_code="00", authorization_code="STAND1"
    ).authorization


@pytest.fixture
def supervisor():
    return staff_person_create("supervisor", full_name="Maria Kierownik").user


def test_marking_a_flagged_payment_reviewed_writes_the_review_and_its_audit_row(supervisor):
    tc = active_card()
    advice = stand_in(tc)

    outcome = authorization_review_mark(reviewer=supervisor, authorization=advice, note="  Called the ATM owner.  ")

    assert outcome.created and outcome.customer_id == tc.card.customer_id
    review = AuthorizationReview.objects.get()
    assert (review.authorization_id, review.reviewed_by_id, review.note) == (
        advice.pk,
        supervisor.pk,
        "Called the ATM owner.",
    )
    event = AuditEvent.objects.get(action="processing.authorization.reviewed")
    assert (event.actor_type, event.actor_id, event.customer_id) == (
        ActorType.STAFF,
        str(supervisor.pk),
        tc.card.customer_id,
    )
    assert (event.object_type, event.object_id) == ("processing.authorization", str(advice.pk))
    assert event.after == {"processor_id": advice.processor_id, "note": "Called the ATM owner."}
    # The flag stays as the card core set it: the review is its own row.
    advice.refresh_from_db()
    assert advice.needs_review


def test_a_second_mark_returns_the_first_review_and_writes_nothing(supervisor):
    advice = stand_in(active_card())
    first = authorization_review_mark(reviewer=supervisor, authorization=advice, note="First look.")
    colleague = staff_person_create("supervisor", full_name="Jan Drugi").user

    again = authorization_review_mark(reviewer=colleague, authorization=advice, note="Second look.")

    assert not again.created and again.review.pk == first.review.pk
    assert AuthorizationReview.objects.get().note == "First look."
    assert AuditEvent.objects.filter(action="processing.authorization.reviewed").count() == 1


def test_an_advice_for_a_card_the_bank_does_not_know_can_be_reviewed(supervisor):
    tc = active_card()
    advice = stand_in(tc, pan="4000009999999995")
    assert advice.card_id is None

    outcome = authorization_review_mark(reviewer=supervisor, authorization=advice)

    assert outcome.created and outcome.customer_id is None
    assert AuditEvent.objects.get(action="processing.authorization.reviewed").customer_id is None


def test_a_payment_not_flagged_is_refused(supervisor):
    approved = decide(active_card()).authorization

    with pytest.raises(AuthorizationNotFlagged):
        authorization_review_mark(reviewer=supervisor, authorization=approved)

    assert not AuthorizationReview.objects.exists()
    assert not AuditEvent.objects.filter(action="processing.authorization.reviewed").exists()


def test_only_bank_staff_review(cardholder):
    advice = stand_in(active_card())

    with pytest.raises(PermissionDenied):
        authorization_review_mark(reviewer=cardholder.user, authorization=advice)

    assert not AuthorizationReview.objects.exists()


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("x" * 501, "500"),
        ("Klient podał numer 4111 1111 1111 1111 przez telefon", "numeru karty"),
        ("card 5555-5555-5555-4444", "numeru karty"),
    ],
)
def test_a_long_note_or_one_with_a_card_number_is_refused_and_nothing_is_written(supervisor, note, message):
    advice = stand_in(active_card())

    with pytest.raises(ValidationFailed) as refused:
        authorization_review_mark(reviewer=supervisor, authorization=advice, note=note)

    assert message in refused.value.field_errors["note"]
    assert not AuthorizationReview.objects.exists()
    assert not AuditEvent.objects.filter(action="processing.authorization.reviewed").exists()


def test_a_note_may_name_the_cards_last_digits_and_other_numbers(supervisor):
    advice = stand_in(active_card())

    outcome = authorization_review_mark(
        reviewer=supervisor, authorization=advice, note="Card *1234, ARN 74987501234567890123456, tel. 600 123 456"
    )

    assert outcome.created


def test_the_queue_reads_every_customers_flagged_payments_newest_first_by_state(supervisor):
    first, second = active_card(), active_card()
    old = stand_in(first, merchant_name="Old")
    decide(first)  # not flagged: never in the queue
    reviewed = stand_in(second, merchant_name="Reviewed")
    new = stand_in(second, merchant_name="New")
    authorization_review_mark(reviewer=supervisor, authorization=reviewed)

    def names(state: str) -> list[str]:
        return [a.merchant_name for a in authorization_review_queue(state=state)]

    assert names(ReviewState.TO_REVIEW) == ["New", "Old"]
    assert names(ReviewState.REVIEWED) == ["Reviewed"]
    assert names(ReviewState.ALL) == ["New", "Reviewed", "Old"]
    assert {a.pk for a in authorization_review_queue()} == {old.pk, new.pk}


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
@pytest.mark.django_db(transaction=True)
def test_racing_clicks_of_several_staff_members_write_one_review():
    advice = stand_in(active_card())
    reviewers = [staff_person_create("supervisor", full_name=f"Kierownik {n}").user for n in range(8)]

    outcomes = run_together(
        *(
            (lambda reviewer=reviewer: authorization_review_mark(reviewer=reviewer, authorization=advice, note="ok"))
            for reviewer in reviewers
        )
    )

    assert sum(outcome.created for outcome in outcomes) == 1
    assert len({outcome.review.pk for outcome in outcomes}) == 1
    assert AuthorizationReview.objects.count() == 1
    assert AuditEvent.objects.filter(action="processing.authorization.reviewed").count() == 1
