"""Reviews of the authorizations the card core flagged ``needs_review`` (docs/processing.md, "Reviews").

A stand-in advice (advices.py) is recorded whatever the card's limits and funds
allow, and flagged: somebody at the bank has to look at it. The back office's
review queue reads ``authorization_review_queue`` (across customers: bank staff
only) and marks one reviewed with ``authorization_review_mark``. The flag itself
never changes; the review is its own row, written once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.cards.models import Card
from kartosfera.cards.pan import text_has_card_number
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.processing.models import Authorization, AuthorizationReview
from kartosfera.users.models import User

REVIEW_NOTE_MAX_LENGTH = 500


class ReviewState(models.TextChoices):
    """The queue's filter."""

    TO_REVIEW = "to_review", gettext_lazy("Not reviewed yet")
    REVIEWED = "reviewed", gettext_lazy("Reviewed")
    ALL = "all", gettext_lazy("Every flagged payment")


class AuthorizationNotFlagged(DomainError):
    default_message = gettext_lazy("This card payment is not flagged for review.")
    code = "authorization_not_flagged"


@dataclass(frozen=True)
class ReviewOutcome:
    review: AuthorizationReview
    # False when the authorization had been reviewed already: nothing was written.
    created: bool
    # The customer whose card it was and the card's bank (None for a card the group does not know).
    customer_id: int | None
    bank_id: int | None = None


def authorization_review_queue(*, state: str = ReviewState.TO_REVIEW) -> QuerySet[Authorization]:
    """The flagged authorizations of every customer, newest first: not reviewed yet, reviewed, or all.

    Bank staff only (the caller checks the role). One query a page, with the card, its holder
    and the review; the partial index ``auth_needs_review_created`` keeps it to the flagged rows.
    """
    flagged = Authorization.objects.filter(needs_review=True)
    if state == ReviewState.TO_REVIEW:
        flagged = flagged.filter(review__isnull=True)
    elif state == ReviewState.REVIEWED:
        flagged = flagged.filter(review__isnull=False)
    return flagged.select_related("card__customer", "review").order_by("-created_at", "-id")


def authorization_flagged_get(*, authorization_id: int) -> Authorization | None:
    """A flagged authorization by its id (any customer's: the review queue's object), or None."""
    return Authorization.objects.filter(pk=authorization_id, needs_review=True).first()


def review_note_clean(note: str) -> str:
    """The note as it is kept, or ValidationFailed: at most 500 characters, never a card number."""
    note = (note or "").strip()
    if len(note) > REVIEW_NOTE_MAX_LENGTH:
        raise ValidationFailed({"note": _("The note can have at most 500 characters.")})
    if text_has_card_number(note):
        raise ValidationFailed(
            {"note": _("Do not write a card number in the note: the last 4 digits are enough. Nothing was saved.")}
        )
    return note


@transaction.atomic
def authorization_review_mark(
    *, reviewer: User, authorization: Authorization, note: str = "", now: dt.datetime | None = None
) -> ReviewOutcome:
    """Mark a flagged authorization reviewed by ``reviewer`` (bank staff), with an optional note.

    Under the authorization's row lock, so two clicks (or two staff members) at once
    write one review: the second gets the first's review back and writes nothing.
    The review and its audit row ``processing.authorization.reviewed`` are one transaction.
    """
    if not reviewer.is_bank_staff:
        raise PermissionDenied
    note = review_note_clean(note)
    # Only this row: the card core's writers lock the card, then the account, and update an
    # authorization last, so waiting here on one of them can never be waited on in return.
    locked = Authorization.objects.select_for_update().get(pk=authorization.pk)
    if not locked.needs_review:
        raise AuthorizationNotFlagged()
    customer_id, bank_id = (
        Card.objects.filter(pk=locked.card_id).values_list("customer_id", "bank_id").first()
        if locked.card_id is not None
        else None
    ) or (None, None)
    existing = AuthorizationReview.objects.filter(authorization=locked).first()
    if existing is not None:
        return ReviewOutcome(review=existing, created=False, customer_id=customer_id, bank_id=bank_id)
    review = AuthorizationReview.objects.create(
        authorization=locked, reviewed_by=reviewer, note=note, reviewed_at=now or timezone.now()
    )
    audit_record(
        actor=Actor.for_user(reviewer),
        action="processing.authorization.reviewed",
        obj=locked,
        customer_id=customer_id,
        bank_id=bank_id,
        after={"processor_id": locked.processor_id, "note": note},
    )
    return ReviewOutcome(review=review, created=True, customer_id=customer_id, bank_id=bank_id)
