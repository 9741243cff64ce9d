"""Helpers for the back-office tests: verified callers, action URLs and form data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils import timezone

from kartosfera.backoffice.models import VERIFICATION_VALIDITY, CallerVerification, IdentityDocument
from kartosfera.backoffice.services import caller_verify
from kartosfera.cards.models import Card
from kartosfera.core.audit import Actor
from kartosfera.customers.identity import pesel_birth_date
from kartosfera.customers.models import Customer
from kartosfera.testing import factories
from kartosfera.testing.staff import StaffPerson

SYSTEM = Actor.system("tests")
KNOWN_PAN = factories.make_pan("400000", 424_242)


def birth_date_of(customer: Customer) -> dt.date | None:
    return customer.birth_date or (pesel_birth_date(customer.pesel) if customer.pesel else None)


def phone_verify(person: StaffPerson, customer: Customer) -> CallerVerification:
    """A passed phone verification: identifier, date of birth and the number on file."""
    verification = caller_verify(
        staff=person.user,
        customer=customer,
        channel="phone",
        identifier=customer.pesel or customer.nonresident_id or "",
        birth_date=birth_date_of(customer),
        calling_number=customer.phone_on_file or "",
    )
    assert verification.passed
    return verification


def branch_verify(person: StaffPerson, customer: Customer) -> CallerVerification:
    """A passed verification at a branch with an ID card and the identifier."""
    verification = caller_verify(
        staff=person.user,
        customer=customer,
        channel="branch",
        identifier=customer.pesel or customer.nonresident_id or "",
        birth_date=birth_date_of(customer),
        document_type=IdentityDocument.ID_CARD,
    )
    assert verification.passed
    return verification


def verification_planted(person: StaffPerson, customer: Customer) -> CallerVerification:
    """A valid branch verification written straight to the table (for roles that may not verify)."""
    now = timezone.now()
    return CallerVerification.objects.create(
        staff=person.user,
        customer=customer,
        channel="branch",
        checks_passed=["identifier", "identity_document"],
        document_type=IdentityDocument.ID_CARD,
        passed=True,
        created_at=now,
        expires_at=now + VERIFICATION_VALIDITY,
    )


def customer_action_url(customer: Customer, action: str) -> str:
    return reverse("backoffice:customer_action", args=[customer.pk, action])


def card_action_url(card: Card, action: str) -> str:
    return reverse("backoffice:card_action", args=[card.customer_id, card.pk, action])


def action_post_data(
    action: str, card: Card | None = None, reason: str = "Customer asked on the phone", **fields: Any
) -> dict[str, Any]:
    prefix = f"{action}-{card.pk}" if card is not None else action
    return {f"{prefix}-reason": reason, **{f"{prefix}-{name}": value for name, value in fields.items()}}
