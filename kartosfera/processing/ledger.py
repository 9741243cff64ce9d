"""The bank's own postings: money that moves outside the cards (docs/decisions/0013, docs/processing.md "The ledger").

The bank's core system is the book of record for what happens to an account outside the
cards (a salary credit, a transfer, a fee): it sends each such movement as a posting, and
Kartosfera moves the balance by it, in the same ledger and under the same account lock as
the card scheme's clearing. The balance is never set from outside after the account is
opened: an absolute figure computed by the bank a moment ago would silently undo a card
posting made meanwhile.

Idempotent by the bank's reference on the account: the same reference with the same
content is the first posting again (nothing moves twice, whatever the transport's retry
key); with other content it is ``PostingReferenceConflict``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import Conflict, ValidationFailed
from kartosfera.core.money import MAX_AMOUNT_MINOR, amount_error
from kartosfera.processing.models import Posting, PostingKind


class Direction:
    """Which way the bank's posting moves the balance."""

    CREDIT = "credit"
    DEBIT = "debit"

    ALL = (CREDIT, DEBIT)


# A repayment's "direction" in its request fingerprint: never equal to a credit's, so that a repayment and a
# bank credit under one reference are a conflict, not the same posting.
REPAYMENT = "repayment"
# The statement close's charges: their own "directions" in the fingerprint, never equal to a bank debit's.
STATEMENT_CHARGES = (PostingKind.INTEREST.value, PostingKind.FEE.value)
KIND_OF_DIRECTION = {Direction.CREDIT: PostingKind.BANK_CREDIT, Direction.DEBIT: PostingKind.BANK_DEBIT}
DIRECTION_OF_KIND = {kind: direction for direction, kind in KIND_OF_DIRECTION.items()}
DESCRIPTION_MAX_LENGTH = 140
EARLIEST_BOOKING_DATE = dt.date(1900, 1, 1)


class PostingReferenceConflict(Conflict):
    default_message = gettext_lazy(
        "This reference was already posted on the account with other content; use a new reference for a new posting."
    )
    code = "posting_reference_conflict"


@dataclass(frozen=True)
class BankPosting:
    """The posting, and whether this call created it (False: the same reference and content again)."""

    posting: Posting
    created: bool


def bank_posting_fingerprint(
    *, direction: str, amount_minor: int, currency: str, description: str, booking_date: dt.date | None
) -> str:
    """A keyed hash of what the bank sent (its defaults unresolved, so a retry on another day still matches)."""
    canonical = json.dumps(
        {
            "direction": direction,
            "amount_minor": amount_minor,
            "currency": currency,
            "description": description,
            "booking_date": booking_date.isoformat() if booking_date else None,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    key = settings.CARD_FINGERPRINT_KEY.encode()
    return hmac.new(key, b"kartosfera.bank_posting.v1\x00" + canonical.encode(), hashlib.sha256).hexdigest()


def _check(
    *,
    account: Account,
    direction: str,
    amount_minor: int,
    currency: str,
    description: str,
    booking_date: dt.date,
    date_field: str = "booking_date",
) -> None:
    errors: dict[str, str] = {}
    if direction not in (*Direction.ALL, REPAYMENT, *STATEMENT_CHARGES):
        errors["direction"] = _("Choose credit or debit.")
    if amount_minor <= 0:
        errors["amount_minor"] = _("The amount must be above zero.")
    elif message := amount_error(amount_minor):
        errors["amount_minor"] = message
    if currency != account.currency:
        errors["currency"] = _("A posting is in the account's currency (%(currency)s).") % {
            "currency": account.currency
        }
    if len(description) > DESCRIPTION_MAX_LENGTH:
        errors["description"] = _("At most %(max)d characters.") % {"max": DESCRIPTION_MAX_LENGTH}
    if not EARLIEST_BOOKING_DATE <= booking_date <= timezone.localdate():
        errors[date_field] = (
            _("The booking date must lie between 1900-01-01 and today.")
            if date_field == "booking_date"
            else _("The value date must lie between 1900-01-01 and today.")
        )
    if errors:
        raise ValidationFailed(errors)


@dataclass(frozen=True)
class _Booked:
    result: BankPosting
    account: Account
    balance_after_minor: int


def _book(
    *,
    account: Account,
    reference: str,
    kind: str,
    direction: str,
    amount_minor: int,
    currency: str,
    description: str,
    booking_date: dt.date | None,
    now: dt.datetime,
    date_field: str = "booking_date",
) -> _Booked:
    # Must run inside the caller's transaction, which writes the audit row of a new posting.
    fingerprint = bank_posting_fingerprint(
        direction=direction,
        amount_minor=amount_minor,
        currency=currency,
        description=description,
        booking_date=booking_date,
    )
    locked = Account.objects.select_for_update().get(pk=account.pk)
    # Re-sent under another transport key, or racing its first send: the lock serializes the two.
    existing = Posting.objects.filter(account=locked, bank_reference=reference).first()
    if existing is not None:
        if not hmac.compare_digest(existing.request_fingerprint, fingerprint):
            raise PostingReferenceConflict()
        return _Booked(BankPosting(posting=existing, created=False), locked, locked.balance_minor)
    booked_on = booking_date or timezone.localdate(now)
    _check(
        account=locked,
        direction=direction,
        amount_minor=amount_minor,
        currency=currency,
        description=description,
        booking_date=booked_on,
        date_field=date_field,
    )
    change = amount_minor if direction in (Direction.CREDIT, REPAYMENT) else -amount_minor
    balance_after = locked.balance_minor + change
    if not -MAX_AMOUNT_MINOR <= balance_after <= MAX_AMOUNT_MINOR:
        raise ValidationFailed({"amount_minor": _("The balance after this posting would be out of range.")})
    posting = _bank_posting(
        account=locked,
        reference=reference,
        kind=kind,
        amount_minor=amount_minor,
        currency=currency,
        description=description,
        change=change,
        booked_on=booked_on,
        now=now,
        fingerprint=fingerprint,
    )
    posting.save()
    locked.balance_minor = balance_after
    locked.save(update_fields=["balance_minor", "updated_at"])
    return _Booked(BankPosting(posting=posting, created=True), locked, balance_after)


def _bank_posting(
    *,
    account: Account,
    reference: str,
    kind: str,
    amount_minor: int,
    currency: str,
    description: str,
    change: int,
    booked_on: dt.date,
    now: dt.datetime,
    fingerprint: str,
) -> Posting:
    """The ledger row of one of the bank's postings (not saved yet)."""
    return Posting(
        kind=kind,
        account=account,
        bank_reference=reference,
        description=description,
        amount_minor=amount_minor,
        currency=currency,
        billing_amount_minor=amount_minor,
        billing_currency=account.currency,
        balance_change_minor=change,
        processing_date=booked_on,
        local_date=timezone.localdate(now),
        request_fingerprint=fingerprint,
    )


def bank_posting_record(
    *,
    actor: Actor,
    account: Account,
    reference: str,
    direction: str,
    amount_minor: int,
    currency: str,
    description: str = "",
    booking_date: dt.date | None = None,
    now: dt.datetime | None = None,
) -> BankPosting:
    """Post the bank's credit or debit to ``account``: the balance moves, a ledger row and an audit row are written.

    Under the account's lock (the same lock every card payment and clearing of the account
    takes, so the two never overwrite each other's balance). A debit may take the balance
    below zero: the bank's core system has already booked it. Only a balance beyond the
    amount cap (10^15 minor units either side) is refused.
    """
    if direction not in Direction.ALL:
        raise ValidationFailed({"direction": _("Choose credit or debit.")})
    with transaction.atomic():
        booked = _book(
            account=account,
            reference=reference,
            kind=KIND_OF_DIRECTION[direction],
            direction=direction,
            amount_minor=amount_minor,
            currency=currency,
            description=description,
            booking_date=booking_date,
            now=now or timezone.now(),
        )
        if booked.result.created:
            posting = booked.result.posting
            audit_record(
                actor=actor,
                action="processing.bank_posting.posted",
                obj=posting,
                customer_id=booked.account.customer_id,
                bank_id=booked.account.bank_id,
                # The description stays on the posting: a transfer's title is the customer's text, not an audit fact.
                after={
                    "account": booked.account.reference,
                    "reference": reference,
                    "direction": direction,
                    "amount_minor": amount_minor,
                    "currency": currency,
                    "balance_change_minor": posting.balance_change_minor,
                    "balance_after_minor": booked.balance_after_minor,
                    "booking_date": posting.processing_date.isoformat(),
                },
            )
    return booked.result


class NotACreditAccount(ValidationFailed):
    """A repayment sent to a debit account: only a credit card's debt is repaid."""

    code = "not_a_credit_account"


def repayment_record(
    *,
    actor: Actor,
    account: Account,
    reference: str,
    amount_minor: int,
    currency: str,
    value_date: dt.date | None = None,
    now: dt.datetime | None = None,
) -> BankPosting:
    """Post the holder's repayment to a credit account (docs/statements.md, "Repayments"): the debt goes down.

    A bank credit of its own kind (``PostingKind.REPAYMENT``), booked as every bank posting is:
    under the account's lock, idempotent by the bank's reference on the account, with its audit
    row in the same transaction. ``value_date`` (default: today in Warsaw) is the day the money
    counts from, stored as the posting's processing date; the statement close reads it. An
    overpayment is taken: the balance goes above zero and pays the next payments.
    """
    with transaction.atomic():
        if account.kind != AccountKind.CREDIT:
            raise NotACreditAccount(
                {"account": _("A repayment goes to a credit card account; this account is a debit account.")}
            )
        booked = _book(
            account=account,
            reference=reference,
            kind=PostingKind.REPAYMENT,
            direction=REPAYMENT,
            amount_minor=amount_minor,
            currency=currency,
            description="",
            booking_date=value_date,
            now=now or timezone.now(),
            date_field="value_date",
        )
        if booked.result.created:
            posting = booked.result.posting
            audit_record(
                actor=actor,
                action="processing.repayment.posted",
                obj=posting,
                customer_id=booked.account.customer_id,
                bank_id=booked.account.bank_id,
                after={
                    "account": booked.account.reference,
                    "reference": reference,
                    "amount_minor": amount_minor,
                    "currency": currency,
                    "balance_after_minor": booked.balance_after_minor,
                    "value_date": posting.processing_date.isoformat(),
                },
            )
    return booked.result


@dataclass(frozen=True)
class StatementCharge:
    """One charge of a statement close, the period's interest or a fee, under the reference the close made for it."""

    reference: str
    kind: str
    amount_minor: int
    description: str


@dataclass(frozen=True)
class StatementCharges:
    """One account's charges of a statement close, booked on its statement date."""

    account: Account
    charges: Sequence[StatementCharge]
    booking_date: dt.date


def statement_charges_book(*, bookings: Sequence[StatementCharges], now: dt.datetime) -> list[list[Posting]]:
    """Debit credit accounts with the charges of their statement close (interest, fees); each one's postings, in order.

    Called by the close (kartosfera/statements/close.py) inside its transaction with each account as it
    locked it there (``select_for_update``): the balance read under that lock is the balance, as nothing
    else moves it until the close commits. The close writes the statements and their audit rows with the
    charges. Each reference is made from the statement, so a close repeated for the same period finds
    the same charges instead of second ones (as every bank posting: the same reference with other
    content is ``PostingReferenceConflict``).
    Every account of a close's batch at once: one look-up of the references, one insert and one update of
    the balances, rather than a lock and those three for each account (bench/statements.py). Everything is
    checked before anything is written: a charge refused refuses the call.
    """
    if any(charge.kind not in STATEMENT_CHARGES for booking in bookings for charge in booking.charges):
        raise ValueError(f"not statement charges: {[c.kind for b in bookings for c in b.charges]}")
    wanted = [booking for booking in bookings if booking.charges]
    existing: dict[tuple[int, str], Posting] = {}
    if wanted:
        found = Posting.objects.filter(
            account_id__in={booking.account.pk for booking in wanted},
            bank_reference__in={charge.reference for booking in wanted for charge in booking.charges},
        )
        existing = {(posting.account_id, posting.bank_reference): posting for posting in found}
    booked_per_account: list[list[Posting]] = []
    new: list[Posting] = []
    moved: dict[int, Account] = {}
    for booking in bookings:
        account = booking.account
        balance = account.balance_minor
        booked: list[Posting] = []
        for charge in booking.charges:
            fingerprint = bank_posting_fingerprint(
                direction=charge.kind,
                amount_minor=charge.amount_minor,
                currency=account.currency,
                description=charge.description,
                booking_date=booking.booking_date,
            )
            previous = existing.get((account.pk, charge.reference))
            if previous is not None:
                if not hmac.compare_digest(previous.request_fingerprint, fingerprint):
                    raise PostingReferenceConflict()
                booked.append(previous)
                continue
            _check(
                account=account,
                direction=charge.kind,
                amount_minor=charge.amount_minor,
                currency=account.currency,
                description=charge.description,
                booking_date=booking.booking_date,
            )
            balance -= charge.amount_minor
            if not -MAX_AMOUNT_MINOR <= balance <= MAX_AMOUNT_MINOR:
                raise ValidationFailed({"amount_minor": _("The balance after this posting would be out of range.")})
            posting = _bank_posting(
                account=account,
                reference=charge.reference,
                kind=charge.kind,
                amount_minor=charge.amount_minor,
                currency=account.currency,
                description=charge.description,
                change=-charge.amount_minor,
                booked_on=booking.booking_date,
                now=now,
                fingerprint=fingerprint,
            )
            new.append(posting)
            booked.append(posting)
        if balance != account.balance_minor:
            account.balance_minor = balance
            moved[account.pk] = account
        booked_per_account.append(booked)
    if new:
        Posting.objects.bulk_create(new)
    if moved:
        changed_at = timezone.now()
        for account in moved.values():
            account.updated_at = changed_at  # what save() would set (auto_now); bulk_update does not
        Account.objects.bulk_update(list(moved.values()), ["balance_minor", "updated_at"])
    return booked_per_account
