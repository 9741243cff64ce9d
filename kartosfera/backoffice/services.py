"""Back-office writes: caller verification and the staff actions.

Every action goes through the same service the portal (or the bank's API)
uses; this module adds what staff work needs around it: the role's
permission, a valid verification of the caller by this staff member, a reason,
and an audit row ``backoffice.<action>`` naming the staff member, the reason
and the verification, written in the same transaction as the change.

Each one checks the staff member's bank scope itself (banks/scope.py): another bank's customer or
card is Http404 before anything is done, whatever the view let through. An audit row about the
customer written by a bank's staff carries their bank, so that another bank's staff never read it.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.backoffice.actions import ACTIONS, ActionContext, StaffAction
from kartosfera.backoffice.models import (
    VERIFICATION_VALIDITY,
    CallerVerification,
    IdentityDocument,
    VerificationChannel,
    VerificationCheck,
)
from kartosfera.backoffice.roles import NEEDS_IDENTITY_DOCUMENT, StaffPermission
from kartosfera.cards.models import Card
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.customers.identity import normalize_phone, pesel_birth_date
from kartosfera.customers.models import BankMembership, Customer
from kartosfera.processing.models import Authorization
from kartosfera.processing.reviews import ReviewOutcome, authorization_review_mark
from kartosfera.statements.close import statement_correct
from kartosfera.statements.models import Statement
from kartosfera.users.models import User

REASON_MAX_LENGTH = 200
# [ours] A caller on the phone proves three things only they should know.
PHONE_CHECKS_REQUIRED = 3


class VerificationRequired(DomainError):
    default_message = gettext_lazy("Verify the caller first: record how you checked who they are.")
    code = "verification_required"


class IdentityDocumentRequired(DomainError):
    default_message = gettext_lazy(
        "This change needs the customer in person with an identity document, verified at a branch."
    )
    code = "identity_document_required"


def staff_require(staff: User, permission: str) -> None:
    """PermissionDenied (403) unless the staff member's role allows ``permission``."""
    member = getattr(staff, "staff_member", None)
    if member is None or not staff.is_bank_staff or not member.can(permission):
        raise PermissionDenied


def _staff_bank_id(staff: User) -> int | None:
    """The staff member's bank (None: the group's staff)."""
    member = getattr(staff, "staff_member", None)
    return member.bank_id if member is not None else None


def scope_require_customer(staff: User, customer: Customer) -> None:
    """Http404 unless ``customer`` is inside the staff member's scope (a bank's staff: a customer of the bank)."""
    bank_id = _staff_bank_id(staff)
    if bank_id is not None and not BankMembership.objects.filter(customer_id=customer.pk, bank_id=bank_id).exists():
        raise Http404


def scope_require_card(staff: User, card: Card) -> None:
    """Http404 unless ``card`` is inside the staff member's scope (a bank's staff: a card of the bank)."""
    bank_id = _staff_bank_id(staff)
    if bank_id is not None and card.bank_id != bank_id:
        raise Http404


def _same(given: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(given.encode(), expected.encode())


def _customer_birth_date(customer: Customer) -> dt.date | None:
    if customer.birth_date:
        return customer.birth_date
    return pesel_birth_date(customer.pesel) if customer.pesel else None


def _compare_answers(
    customer: Customer,
    *,
    bank_id: int | None,
    identifier: str,
    birth_date: dt.date | None,
    card_last4: str,
    calling_number: str,
) -> tuple[list[str], list[str]]:
    """Which of the given answers match the records and which do not (the answers are not kept)."""
    passed: list[str] = []
    failed: list[str] = []

    def record(check: str, ok: bool) -> None:
        (passed if ok else failed).append(check)

    identifier = "".join(identifier.split()).upper()
    if identifier:
        record(
            VerificationCheck.IDENTIFIER,
            _same(identifier, customer.pesel) or _same(identifier, customer.nonresident_id),
        )
    if birth_date is not None:
        record(VerificationCheck.BIRTH_DATE, birth_date == _customer_birth_date(customer))
    card_last4 = card_last4.strip()
    if card_last4:
        # A bank's staff compare with their bank's cards only: a match must not tell them of another bank's card.
        cards = Card.objects.filter(customer=customer)
        if bank_id is not None:
            cards = cards.filter(bank_id=bank_id)
        last4s = set(cards.values_list("pan_last4", flat=True))
        record(VerificationCheck.CARD_LAST4, any(_same(card_last4, value) for value in last4s))
    if calling_number.strip():
        try:
            number = normalize_phone(calling_number)
        except ValidationError:
            number = ""
        record(VerificationCheck.PHONE_ON_FILE, bool(number) and _same(number, customer.phone_on_file))
    return passed, failed


@transaction.atomic
def caller_verify(
    *,
    staff: User,
    customer: Customer,
    channel: str,
    identifier: str = "",
    birth_date: dt.date | None = None,
    card_last4: str = "",
    calling_number: str = "",
    document_type: str = "",
) -> CallerVerification:
    """Record how the caller was verified; the result says whether actions may follow.

    The answers the caller gave are compared with the records here and then
    forgotten: the verification keeps which checks passed and failed. Any wrong
    answer fails the verification. By phone, at least three checks must pass;
    at a branch, an identity document and the PESEL or identification number.
    """
    staff_require(staff, StaffPermission.CALLER_VERIFY)
    scope_require_customer(staff, customer)
    if channel not in VerificationChannel.values:
        raise ValidationFailed({"channel": _("Choose how the customer contacted the bank.")})
    if document_type and document_type not in IdentityDocument.values:
        raise ValidationFailed({"document_type": _("Choose the kind of document.")})
    if document_type and channel != VerificationChannel.BRANCH:
        raise ValidationFailed({"document_type": _("An identity document can be checked only at a branch.")})
    passed, failed = _compare_answers(
        customer,
        bank_id=_staff_bank_id(staff),
        identifier=identifier,
        birth_date=birth_date,
        card_last4=card_last4,
        calling_number=calling_number,
    )
    if document_type:
        passed.append(VerificationCheck.IDENTITY_DOCUMENT)
    if not failed:
        if channel == VerificationChannel.PHONE and len(passed) < PHONE_CHECKS_REQUIRED:
            raise ValidationFailed(
                {
                    "__all__": _(
                        "Ask the caller for at least three of: PESEL or identification number, date of birth, "
                        "last 4 digits of a card, the number they call from."
                    )
                }
            )
        # A non-resident still waiting for their identification number has no
        # identifier to give: the identity document alone identifies them.
        has_identifier = bool(customer.pesel or customer.nonresident_id)
        if channel == VerificationChannel.BRANCH and not (
            VerificationCheck.IDENTITY_DOCUMENT in passed
            and (VerificationCheck.IDENTIFIER in passed or not has_identifier)
        ):
            raise ValidationFailed(
                {"__all__": _("At a branch, check an identity document and the PESEL or identification number.")}
            )
    now = timezone.now()
    verification = CallerVerification.objects.create(
        staff=staff,
        customer=customer,
        channel=channel,
        checks_passed=[str(c) for c in passed],
        checks_failed=[str(c) for c in failed],
        document_type=document_type,
        passed=not failed,
        created_at=now,
        expires_at=now + VERIFICATION_VALIDITY,
    )
    audit_record(
        actor=Actor.for_user(staff),
        action="backoffice.caller.verified" if verification.passed else "backoffice.caller.verification_failed",
        obj=customer,
        customer_id=customer.pk,
        bank_id=_staff_bank_id(staff),
        after={**verification.audit_view(), "checks_failed": verification.checks_failed},
    )
    return verification


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": _("Give the reason for the action.")})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed({"reason": _("The reason can have at most 200 characters.")})
    return reason


def _require_verification(
    *, staff: User, customer: Customer, verification: CallerVerification | None, action: StaffAction
) -> CallerVerification:
    if (
        verification is None
        or verification.staff_id != staff.pk
        or verification.customer_id != customer.pk
        or not verification.is_valid()
    ):
        raise VerificationRequired()
    if action.permission in NEEDS_IDENTITY_DOCUMENT and not verification.has_identity_document:
        raise IdentityDocumentRequired()
    return verification


def staff_action_perform(
    *,
    staff: User,
    action_name: str,
    customer: Customer,
    verification: CallerVerification | None,
    reason: str,
    card: Card | None = None,
    data: Mapping[str, Any] | None = None,
) -> str:
    """Run one staff action on ``customer`` (or their ``card``); returns the message to show.

    Refusals (a rule of the underlying service said no) raise DomainError and
    leave an audit row ``backoffice.action_refused`` in a transaction of their own.
    """
    action = ACTIONS.get(action_name)
    if action is None:
        raise PermissionDenied
    staff_require(staff, action.permission)
    if action.on_card != (card is not None) or (card is not None and card.customer_id != customer.pk):
        raise PermissionDenied
    scope_require_customer(staff, customer)
    if card is not None:
        scope_require_card(staff, card)
    actor = Actor.for_user(staff)
    # A card's row is its bank's; a row about the person, the bank of the staff member who acted (none: the group).
    bank_id = card.bank_id if card is not None else _staff_bank_id(staff)
    try:
        verification = _require_verification(staff=staff, customer=customer, verification=verification, action=action)
        reason = _require_reason(reason)
        with transaction.atomic():
            context = ActionContext(actor=actor, customer=customer, card=card, reason=reason)
            outcome = action.perform(context, dict(data or {}))
            audit_record(
                actor=actor,
                action=f"backoffice.{action.name}",
                obj=card if card is not None else customer,
                customer_id=customer.pk,
                bank_id=bank_id,
                after={"reason": reason, **verification.audit_view(), **outcome.audit},
            )
    except DomainError as exc:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="backoffice.action_refused",
                obj=card if card is not None else customer,
                customer_id=customer.pk,
                bank_id=bank_id,
                after={"action": action.name, "refusal": exc.code},
            )
        raise
    return outcome.message


@transaction.atomic
def customer_view_record(*, staff: User, customer: Customer) -> None:
    """Audit that a staff member opened a customer's file [law: PCI DSS 10.2.1.1]."""
    staff_require(staff, StaffPermission.CUSTOMER_VIEW)
    scope_require_customer(staff, customer)
    audit_record(
        actor=Actor.for_user(staff),
        action="backoffice.customer.viewed",
        obj=customer,
        customer_id=customer.pk,
        bank_id=_staff_bank_id(staff),
    )


def authorization_review(*, staff: User, authorization: Authorization, note: str = "") -> ReviewOutcome:
    """Mark a card payment flagged for review as reviewed, for the back office's review queue.

    The role's permission, then the card core's service (row lock, one review, its audit row)
    and, in the same transaction, ``backoffice.authorization_reviewed`` for the staff activity
    log. A second click finds the first review and writes nothing at all.
    """
    staff_require(staff, StaffPermission.AUTHORIZATION_REVIEW)
    bank_id = _staff_bank_id(staff)
    if bank_id is not None and (
        authorization.card_id is None or not Card.objects.filter(pk=authorization.card_id, bank_id=bank_id).exists()
    ):
        raise Http404  # another bank's card's payment (or a card the group does not know)
    with transaction.atomic():
        outcome = authorization_review_mark(reviewer=staff, authorization=authorization, note=note)
        if outcome.created:
            audit_record(
                actor=Actor.for_user(staff),
                action="backoffice.authorization_reviewed",
                obj=outcome.review.authorization,
                customer_id=outcome.customer_id,
                bank_id=outcome.bank_id,
                after={"processor_id": authorization.processor_id, "note": outcome.review.note},
            )
    return outcome


def statement_correct_by_staff(*, staff: User, statement: Statement, reason: str) -> Statement:
    """Issue a corrected statement in place of the account's latest one, for the back office (supervisor).

    The role's permission and the bank scope (another bank's statement is Http404), then the
    statements' own service (statements/close.py: ``statement_correct``: the account's row lock, the
    correction with its lines, its audit row and the holder's SMS) and, in the same transaction,
    ``backoffice.statement_corrected`` for the staff activity log. No caller verification: a correction
    is the bank's own act, not one done for a caller. A refusal (not the latest statement, no reason) is
    audited as ``backoffice.action_refused`` in a transaction of its own.
    """
    staff_require(staff, StaffPermission.STATEMENT_CORRECT)
    bank_id = _staff_bank_id(staff)
    if bank_id is not None and statement.bank_id != bank_id:
        raise Http404
    actor = Actor.for_user(staff)
    try:
        with transaction.atomic():
            correction = statement_correct(actor=actor, statement=statement, reason=reason)
            audit_record(
                actor=actor,
                action="backoffice.statement_corrected",
                obj=correction,
                customer_id=statement.customer_id,
                bank_id=statement.bank_id,
                after={
                    "reason": correction.correction_reason,
                    "number": correction.number,
                    "corrects": statement.number,
                },
            )
    except DomainError as exc:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="backoffice.action_refused",
                obj=statement,
                customer_id=statement.customer_id,
                bank_id=statement.bank_id,
                after={"action": StaffPermission.STATEMENT_CORRECT.value, "refusal": exc.code},
            )
        raise
    return correction
