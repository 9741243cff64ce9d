"""The statement close: each credit account's billing period becomes one immutable statement (docs/statements.md).

``accounts_statements_close`` closes every period that ended by a day of a batch of accounts locked
by its caller (the lock every card payment, clearing and bank posting of an account takes), set-based:
it books the periods' fees and interest as postings and writes the statements with their lines and
snapshots, their audit rows and the holders' SMS, each kind of row read once and written with one
insert for the whole batch. A period already closed is found, not closed again (the next period after
an account's latest statement is the one closed; the unique original statement per account and period
guards the rest), so the close is idempotent; each batch commits on its own, so a close killed half-way
loses nothing but the batch in flight, which rolled back, and repeats nothing when run again.

``close_worker`` walks the accounts due, claiming a batch at a time with ``SKIP LOCKED`` so that
several workers (processes) share the work without waiting on each other; ``statements_close`` runs
one in this process (the daily task; ``manage.py close_statements`` runs several).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, DateField, Exists, F, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import TruncDate
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.banks.models import Bank
from kartosfera.cards.credit_terms import TERMS_FIELDS as CREDIT_TERMS_FIELDS
from kartosfera.cards.credit_terms import reference_rate_history
from kartosfera.cards.models import Card, CardStatus, CreditTerms
from kartosfera.core.audit import Actor, audit_event, audit_record
from kartosfera.core.errors import Conflict, ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import BankMembership
from kartosfera.notifications.services import SmsToSend, sms_send_many
from kartosfera.notifications.texts import sms_bank_name
from kartosfera.processing.conversion import minor_exponent
from kartosfera.processing.ledger import (
    PostingReferenceConflict,
    StatementCharge,
    StatementCharges,
    statement_charges_book,
)
from kartosfera.processing.models import POSTING_DEBITS, Posting, PostingKind
from kartosfera.statements import billing
from kartosfera.statements.models import FeeReason, InterestRule, Statement, StatementLine
from kartosfera.statements.sms_texts import SMS_STATEMENT_CLOSED
from kartosfera.users.services import holder_phone

logger = logging.getLogger(__name__)

CLOSE_ACTOR = Actor.system("statement close")
CORRECTION_REASON_MAX_LENGTH = 500


class NoCreditTerms(Conflict):
    default_message = gettext_lazy(
        "The account's card product has no credit terms: the bank provisions them with the product."
    )
    code = "no_credit_terms"


class NotCorrectable(Conflict):
    default_message = gettext_lazy("Only the latest statement of an account, not corrected yet, can be corrected.")
    code = "statement_not_correctable"


# --- which accounts are due -------------------------------------------------------------------------------


def _latest_statement_date(as_of: dt.date) -> Case:
    """Per billing day (1-28), the account's last statement date on or before ``as_of``."""
    return Case(
        *(When(billing_day=day, then=Value(billing.statement_date_on_or_before(as_of, day))) for day in range(1, 29)),
        output_field=DateField(),
    )


def due_accounts(as_of: dt.date) -> QuerySet[Account]:
    """Credit accounts with a billing period that ended on or before ``as_of`` and has no statement yet.

    An account's first period starts the day it was opened (Warsaw), so an account opened after its
    last statement date has nothing due.
    """
    closed = Statement.objects.filter(account=OuterRef("pk"), period_end__gte=OuterRef("statement_date"))
    # An account with no card yet (provisioned before its card) has no product, hence no terms: nothing to close.
    carded = Card.objects.filter(account=OuterRef("pk"))
    return (
        Account.objects.filter(kind=AccountKind.CREDIT)
        .filter(Exists(carded))
        .annotate(
            statement_date=_latest_statement_date(as_of),
            opened_on=TruncDate("created_at", tzinfo=timezone.get_default_timezone()),
        )
        .filter(opened_on__lte=F("statement_date"))
        .filter(~Exists(closed))
    )


# --- the accounts of a batch ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    previous: Statement | None


def latest_statement(account: Account) -> Statement | None:
    """The account's newest statement: of the latest period, its correction if it has one.

    Without its snapshot, which nothing here reads (a JSON document parsed for every account closed).
    """
    return (
        Statement.objects.filter(account=account, correction__isnull=True)
        .defer("snapshot")
        .order_by("-period_end", "-id")
        .first()
    )


def _latest_statements(account_ids: Collection[int]) -> dict[int, Statement]:
    """``latest_statement`` of each of the accounts, by account id, in one query."""
    newest = (
        Statement.objects.filter(account=OuterRef("account"), correction__isnull=True)
        .order_by("-period_end", "-id")
        .values("pk")[:1]
    )
    latest = (
        Statement.objects.filter(account_id__in=account_ids, correction__isnull=True)
        .defer("snapshot")
        .filter(pk=Subquery(newest))
    )
    return {statement.account_id: statement for statement in latest}


def next_period(account: Account, previous: Statement | None) -> Period:
    if previous is not None:
        start = previous.period_end + dt.timedelta(days=1)
    else:
        start = timezone.localdate(account.created_at)
    assert account.billing_day is not None  # a credit account has one (CHECK account_credit_terms_iff_credit)
    end = billing.statement_date_after(start - dt.timedelta(days=1), account.billing_day)
    return Period(start=start, end=end, previous=previous)


def _accounts_cards(account_ids: Collection[int]) -> dict[int, list[Card]]:
    """Each account's cards, newest first, with their products' terms and holders: what the close reads of them."""
    cards: dict[int, list[Card]] = {account_id: [] for account_id in account_ids}
    read = (
        Card.objects.filter(account_id__in=account_ids)
        .select_related("product__credit_terms", "customer")
        .only(
            "account_id",
            "customer_id",
            "status",
            "pan_last4",
            "embossed_name",
            "created_at",
            "product__name",
            "product__brand",
            *(f"product__credit_terms__{name}" for name in CREDIT_TERMS_FIELDS),
            "customer__first_name",
            "customer__last_name",
        )
        .order_by("account_id", "-created_at", "-id")
    )
    for card in read:
        assert card.account_id is not None  # filtered by it
        cards[card.account_id].append(card)
    return cards


def account_credit_terms(account: Account, cards: list[Card] | None = None) -> tuple[CreditTerms, Card]:
    """The terms of the account's card product, and the card the statement is named after.

    The account's owner's own card (the newest not cancelled, else the newest) carries the product;
    an additional card on the same account draws on the same contract. ``cards``: the account's
    cards newest first, if already read.
    """
    cards = _accounts_cards([account.pk])[account.pk] if cards is None else cards
    owners = [card for card in cards if card.customer_id == account.customer_id] or cards
    live = [card for card in owners if card.status != CardStatus.CANCELLED] or owners
    for card in live:
        terms = getattr(card.product, "credit_terms", None)
        if terms is not None:
            return terms, card
    raise NoCreditTerms()


class PostingRow(NamedTuple):
    """What the close reads of a posting and of its card, authorization and conversion charge, as one flat row.

    A statement has some thirty postings: read as model instances (four per posting, with the joined
    ones), they cost the close more than everything else it does (bench/statements.py).
    """

    pk: int
    account_id: int
    kind: str
    channel: str
    mcc: str
    card_id: int | None
    authorization_id: int | None
    bank_reference: str
    description: str
    merchant_name: str
    merchant_city: str
    merchant_country: str
    amount_minor: int
    currency: str
    billing_amount_minor: int
    billing_currency: str
    billing_rate: Decimal | None
    balance_change_minor: int
    processing_date: dt.date
    local_date: dt.date | None
    card_last4: str | None
    authorization_local_date: dt.date | None
    markup_percent: Decimal | None

    @classmethod
    def of_charge(cls, posting: Posting) -> PostingRow:
        """The row of a charge the close has just booked: the bank's posting, with no card behind it."""
        return cls._make((*(getattr(posting, name) for name in POSTING_ROW_FIELDS[:-3]), None, None, None))


# ``PostingRow``'s fields in order, as paths from the posting.
POSTING_ROW_FIELDS = (
    *(name for name in PostingRow._fields[:-3]),
    "card__pan_last4",
    "authorization__local_date",
    "authorization__conversion_charge__markup_percent",
)


def _posting_rows(postings: QuerySet[Posting]) -> list[PostingRow]:
    return [PostingRow._make(values) for values in postings.values_list(*POSTING_ROW_FIELDS)]


def _unshown_postings(accounts_ends: dict[int, dt.date]) -> dict[int, list[PostingRow]]:
    """Each account's postings dated up to its period's end that no statement shows yet, in the ledger's order."""
    shown = StatementLine.objects.filter(posting=OuterRef("pk"))
    rows = _posting_rows(
        Posting.objects.filter(account_id__in=accounts_ends, processing_date__lte=max(accounts_ends.values()))
        .filter(~Exists(shown))
        .order_by("account_id", "processing_date", "id")
    )
    postings: dict[int, list[PostingRow]] = {account_id: [] for account_id in accounts_ends}
    for row in rows:
        if row.processing_date <= accounts_ends[row.account_id]:
            postings[row.account_id].append(row)
    return postings


@dataclass(frozen=True)
class Charges:
    """A period's fees and interest, to be booked (in that order) on its statement date."""

    charges: list[StatementCharge]
    # Why each fee was charged (``FeeReason``), by its reference: the line says it in words.
    reasons: dict[str, str]
    interest_rule: str
    interest: billing.Interest | None


def _charges(
    *,
    account: Account,
    period: Period,
    terms: CreditTerms,
    postings: list[PostingRow],
    reference_rates: list[tuple[dt.date, Decimal]],
) -> Charges:
    """The period's fees and interest; references made from the statement date and the charged posting, so that a
    repeated close finds them booked."""
    charges: list[StatementCharge] = []
    reasons: dict[str, str] = {}
    stamp = period.end.strftime("%Y%m%d")

    def charge(reference: str, kind: str, amount_minor: int, description: str, reason: str = "") -> None:
        if amount_minor <= 0:
            return
        charges.append(
            StatementCharge(reference=reference, kind=kind, amount_minor=amount_minor, description=description[:140])
        )
        if reason:
            reasons[reference] = reason

    for posting in postings:
        if posting.kind not in POSTING_DEBITS:
            continue
        if billing.is_cash_withdrawal(channel=posting.channel, mcc=posting.mcc):
            charge(
                f"STMT-{stamp}-CASH-{posting.pk}",
                PostingKind.FEE,
                billing.cash_withdrawal_fee(
                    amount_minor=posting.billing_amount_minor,
                    percent=terms.cash_withdrawal_fee_percent,
                    at_least_minor=terms.cash_withdrawal_fee_min_minor,
                ),
                posting.merchant_name,
                FeeReason.CASH_WITHDRAWAL,
            )
        if posting.currency != account.currency and terms.fx_markup_percent:
            charge(
                f"STMT-{stamp}-FX-{posting.pk}",
                PostingKind.FEE,
                billing.conversion_fee(amount_minor=posting.billing_amount_minor, percent=terms.fx_markup_percent),
                posting.merchant_name,
                FeeReason.CONVERSION,
            )

    rule, interest = _interest(period=period, terms=terms, postings=postings, reference_rates=reference_rates)
    if interest is not None:
        charge(f"STMT-{stamp}-INTEREST", PostingKind.INTEREST, interest.amount_minor, "")
    return Charges(charges=charges, reasons=reasons, interest_rule=rule, interest=interest)


def _interest(
    *, period: Period, terms: CreditTerms, postings: list[PostingRow], reference_rates: list[tuple[dt.date, Decimal]]
) -> tuple[str, billing.Interest | None]:
    """Whether the period bears interest (docs/statements.md, "Interest"), and how much."""
    previous = period.previous
    if previous is None:
        return InterestRule.FIRST_STATEMENT, None
    if previous.owed_minor == 0:
        return InterestRule.NOTHING_OWED, None
    if previous.due_date > period.end:
        return InterestRule.GRACE_RUNNING, None
    # The repayments with a value date by the due date that no statement counted yet: they are among this period's
    # postings (every posting dated by its end that no statement shows). A repayment dated before the previous
    # statement date but booked after its close counts here too: the holder paid in time, the bank told us late.
    repaid = sum(
        p.balance_change_minor
        for p in postings
        if p.kind == PostingKind.REPAYMENT and p.processing_date <= previous.due_date
    )
    if repaid >= previous.owed_minor:
        return InterestRule.REPAID_IN_FULL, None
    balances = billing.daily_balances(
        opening_minor=previous.closing_balance_minor,
        movements=(billing.Movement(day=p.processing_date, change_minor=p.balance_change_minor) for p in postings),
        start=period.start,
        end=period.end,
    )
    interest = billing.daily_interest(
        balances=balances,
        annual_rate_percent=terms.interest_rate_percent,
        reference_rates=reference_rates,
    )
    return InterestRule.CHARGED, interest


def _transaction_date(posting: PostingRow) -> dt.date:
    # A card payment happened on its authorization's day; anything else on its own day.
    if posting.authorization_local_date is not None:
        return posting.authorization_local_date
    if posting.card_id is None or posting.local_date is None:
        return posting.processing_date
    return posting.local_date


def _conversion_rate(posting: PostingRow) -> Decimal:
    """The rate the payment was converted at: the scheme's, else its amount in PLN over its amount (12 places)."""
    if posting.billing_rate is not None:
        return posting.billing_rate
    amount = Decimal(posting.amount_minor).scaleb(-minor_exponent(posting.currency))
    billing_amount = Decimal(posting.billing_amount_minor).scaleb(-minor_exponent(posting.billing_currency))
    return (billing_amount / amount).quantize(Decimal("1e-12"))


def _line(statement: Statement, position: int, posting: PostingRow, reason: str = "") -> StatementLine:
    converted = posting.currency != posting.billing_currency
    return StatementLine(
        statement=statement,
        position=position,
        posting_id=posting.pk,
        kind=posting.kind,
        transaction_date=_transaction_date(posting),
        posting_date=posting.processing_date,
        card_last4=posting.card_last4 or "",
        # A fee's posting carries the charged payment's merchant in its description (``_charges``).
        merchant_name=posting.description[:100] if reason else posting.merchant_name,
        merchant_city=posting.merchant_city,
        merchant_country=posting.merchant_country,
        # A fee says why (FeeReason) and names the merchant of the payment it was charged for; the bank's own
        # posting keeps the bank's words.
        description=reason or posting.description,
        amount_minor=posting.amount_minor,
        currency=posting.currency,
        balance_change_minor=posting.balance_change_minor,
        fx_rate=_conversion_rate(posting) if converted else None,
        fx_markup_percent=posting.markup_percent if converted else None,
    )


def bank_details(bank: Bank) -> dict[str, str]:
    return {
        "code": bank.code,
        "name": bank.name,
        "short_name": bank.short_name,
        "registered_address": bank.registered_address,
        "krs": bank.krs,
        "nip": bank.nip,
        "regon": bank.regon,
        "website": bank.website,
        "helpline_phone": bank.helpline_phone,
        "card_blocking_phone": bank.card_blocking_phone,
        "logo_digest": bank.logo_digest,
    }


def _snapshot(
    *,
    account: Account,
    card: Card,
    cards: list[Card],
    customer_number: str,
    terms: CreditTerms,
    rule: str,
    interest: billing.Interest | None,
) -> dict[str, Any]:
    rates = sorted({str(day.rate_percent) for day in interest.days}) if interest is not None else []
    return {
        "version": 1,
        "bank": bank_details(account.bank),
        "holder": {"name": account.customer.full_name, "customer_number": customer_number},
        "account": {"reference": account.reference, "iban": account.iban},
        "product": {"name": card.product.name, "brand": card.product.brand},
        "cards": [
            # Oldest first.
            {"last4": each.pan_last4, "name": each.embossed_name, "holder": each.customer.full_name}
            for each in reversed(cards)
        ],
        "terms": {
            "interest_rate_percent": str(terms.interest_rate_percent),
            "grace_period_days": terms.grace_period_days,
            "minimum_payment_percent": str(terms.minimum_payment_percent),
            "minimum_payment_minor": terms.minimum_payment_minor,
            "cash_withdrawal_fee_percent": str(terms.cash_withdrawal_fee_percent),
            "cash_withdrawal_fee_min_minor": terms.cash_withdrawal_fee_min_minor,
            "fx_markup_percent": str(terms.fx_markup_percent),
        },
        "interest": {
            "rule": rule,
            "days_charged": len(interest.days) if interest is not None else 0,
            "rates_percent": rates,
        },
    }


def statement_number(account: Account, period_end: dt.date, correction: int = 0) -> str:
    number = f"{account.reference}/{period_end:%Y/%m}"
    return f"{number}/K{correction}" if correction else number


def _customer_numbers(accounts: Collection[Account]) -> dict[tuple[int, int], str]:
    """The holders' customer numbers at their accounts' banks, by (customer id, bank id)."""
    memberships = BankMembership.objects.filter(
        customer_id__in={account.customer_id for account in accounts},
        bank_id__in={account.bank_id for account in accounts},
    ).values_list("customer_id", "bank_id", "customer_number")
    return {(customer_id, bank_id): number for customer_id, bank_id, number in memberships}


def accounts_statements_close(
    *,
    accounts: list[Account],
    as_of: dt.date,
    now: dt.datetime,
    reference_rates: list[tuple[dt.date, Decimal]],
) -> list[Statement]:
    """Close every period that ended on or before ``as_of`` of these accounts, locked by the caller: oldest first.

    Set-based: each round closes the next period of every account with one due, reading each kind of row
    once for all of them and writing each with one insert (bench/statements.py: 10,000 accounts a night).
    An account with more than one period due (a close that did not run for months) takes a round each.
    A period found closed is not closed again: the account's next period after its latest statement is
    the one closed. Raises what an account's close refuses (``NoCreditTerms``, ``ValidationFailed``),
    having written nothing for any of them if the caller rolls back.
    """
    ids = [account.pk for account in accounts]
    cards = _accounts_cards(ids)
    customer_numbers = _customer_numbers(accounts)
    latest = _latest_statements(ids)
    periods = {account.pk: next_period(account, latest.get(account.pk)) for account in accounts}
    due = [account for account in accounts if periods[account.pk].end <= as_of]
    closed: list[Statement] = []
    while due:
        written = _statements_write(
            accounts=due,
            periods=periods,
            cards=cards,
            customer_numbers=customer_numbers,
            now=now,
            reference_rates=reference_rates,
        )
        closed.extend(written)
        periods = {account.pk: next_period(account, statement) for account, statement in zip(due, written, strict=True)}
        due = [account for account in due if periods[account.pk].end <= as_of]
    closed.sort(key=lambda statement: (statement.account_id, statement.period_end))
    return closed


def _statements_write(
    *,
    accounts: list[Account],
    periods: dict[int, Period],
    cards: dict[int, list[Card]],
    customer_numbers: dict[tuple[int, int], str],
    now: dt.datetime,
    reference_rates: list[tuple[dt.date, Decimal]],
) -> list[Statement]:
    """One statement for each account, of its period in ``periods``: charges, statements, lines, audit, SMS."""
    terms_and_cards = [account_credit_terms(account, cards[account.pk]) for account in accounts]
    postings = _unshown_postings({account.pk: periods[account.pk].end for account in accounts})
    planned = [
        _charges(
            account=account,
            period=periods[account.pk],
            terms=terms,
            postings=postings[account.pk],
            reference_rates=reference_rates,
        )
        for account, (terms, _card) in zip(accounts, terms_and_cards, strict=True)
    ]
    booked = statement_charges_book(
        bookings=[
            StatementCharges(account=account, charges=charges.charges, booking_date=periods[account.pk].end)
            for account, charges in zip(accounts, planned, strict=True)
        ],
        now=now,
    )
    statements: list[Statement] = []
    lines_of: list[list[tuple[PostingRow, str]]] = []
    for account, (terms, card), charges, charged in zip(accounts, terms_and_cards, planned, booked, strict=True):
        period = periods[account.pk]
        lines = [(row, "") for row in postings[account.pk]]
        lines += [(PostingRow.of_charge(p), charges.reasons.get(p.bank_reference, "")) for p in charged]
        lines_of.append(lines)
        opening = (
            period.previous.closing_balance_minor if period.previous is not None else account.opening_balance_minor
        )
        statements.append(
            Statement(
                account=account,
                bank_id=account.bank_id,
                customer_id=account.customer_id,
                number=statement_number(account, period.end),
                period_start=period.start,
                period_end=period.end,
                due_date=billing.due_date(period.end, terms.grace_period_days),
                currency=account.currency,
                interest_rule=charges.interest_rule,
                snapshot=_snapshot(
                    account=account,
                    card=card,
                    cards=cards[account.pk],
                    customer_number=customer_numbers.get((account.customer_id, account.bank_id), ""),
                    terms=terms,
                    rule=charges.interest_rule,
                    interest=charges.interest,
                ),
                closed_at=now,
                **_figures(opening=opening, postings=[row for row, _reason in lines], account=account, terms=terms),
            )
        )
    # Under the accounts' locks nobody else closes these periods; the unique original per period guards the rest.
    Statement.objects.bulk_create(statements)
    StatementLine.objects.bulk_create(
        _line(statement, position, row, reason)
        for statement, lines in zip(statements, lines_of, strict=True)
        for position, (row, reason) in enumerate(lines, 1)
    )
    AuditEvent.objects.bulk_create(
        audit_event(
            actor=CLOSE_ACTOR,
            action="statements.statement.closed",
            obj=statement,
            customer_id=statement.customer_id,
            bank_id=statement.bank_id,
            after=_audit_figures(statement, lines=len(lines)),
        )
        for statement, lines in zip(statements, lines_of, strict=True)
    )
    sms_send_many(
        [
            message
            for statement, (_terms, card) in zip(statements, terms_and_cards, strict=True)
            if (message := _notice(statement=statement, card=card)) is not None
        ]
    )
    return statements


def _figures(*, opening: int, postings: Iterable[PostingRow], account: Account, terms: CreditTerms) -> dict[str, int]:
    debits = credits = interest = fees = repayments = 0
    for posting in postings:
        change = posting.balance_change_minor
        if change < 0:
            debits -= change
        else:
            credits += change
        if posting.kind == PostingKind.INTEREST:
            interest -= change
        elif posting.kind == PostingKind.FEE:
            fees -= change
        elif posting.kind == PostingKind.REPAYMENT:
            repayments += change
    closing = opening - debits + credits
    limit = account.credit_limit_minor or 0
    return {
        "opening_balance_minor": opening,
        "debits_minor": debits,
        "credits_minor": credits,
        "closing_balance_minor": closing,
        "interest_minor": interest,
        "fees_minor": fees,
        "repayments_minor": repayments,
        "minimum_payment_minor": billing.minimum_payment(
            owed_minor=max(0, -closing),
            percent=terms.minimum_payment_percent,
            at_least_minor=terms.minimum_payment_minor,
        ),
        "credit_limit_minor": limit,
        "held_minor": account.held_minor,
        "available_minor": limit + closing - account.held_minor,
    }


def _audit_figures(statement: Statement, *, lines: int) -> dict[str, Any]:
    return {
        "number": statement.number,
        "period_start": statement.period_start.isoformat(),
        "period_end": statement.period_end.isoformat(),
        "currency": statement.currency,
        "closing_balance_minor": statement.closing_balance_minor,
        "minimum_payment_minor": statement.minimum_payment_minor,
        "due_date": statement.due_date.isoformat(),
        "interest_minor": statement.interest_minor,
        "fees_minor": statement.fees_minor,
        "lines": lines,
    }


def _notice(*, statement: Statement, card: Card) -> SmsToSend | None:
    """The text that tells the holder what to pay and by when; none when nothing is owed [ours: a message with
    nothing to do] or the holder has no phone."""
    if statement.owed_minor == 0:
        return None
    phone = holder_phone(statement.account.customer)
    if not phone:
        return None
    # The bank's language: the holder's own is not known outside a page (as every notice the card core sends).
    with translation.override(settings.LANGUAGE_CODE):
        message = SMS_STATEMENT_CLOSED.render(
            bank=sms_bank_name(statement.account.bank),
            last4=card.pan_last4,
            owed=statement.money(statement.owed_minor),
            minimum=statement.money(statement.minimum_payment_minor),
            due=formats.date_format(statement.due_date, "SHORT_DATE_FORMAT"),
        )
    return SmsToSend(to=phone, message=message, purpose="statements.statement_closed", bank=statement.account.bank)


# --- many accounts ----------------------------------------------------------------------------------------


@dataclass
class CloseSummary:
    """What a close run did: statements issued, accounts that failed (by reference, with the reason)."""

    accounts: int = 0
    statements: int = 0
    failures: dict[str, str] = field(default_factory=dict)

    def add(self, other: CloseSummary) -> None:
        self.accounts += other.accounts
        self.statements += other.statements
        self.failures.update(other.failures)


# What stops one account's close and not the others' (logged, left for the next run).
ACCOUNT_FAILURES = (NoCreditTerms, ValidationFailed, PostingReferenceConflict)
# How many due accounts a worker reads at a time, and how many of them it closes in one transaction: a batch
# makes each read and write one statement for all of them; a kill loses (rolls back) at most one batch.
CLAIM_CHUNK = 500
CLOSE_BATCH = 100


def _batch_close(
    *,
    account_ids: Sequence[int],
    as_of: dt.date,
    now: dt.datetime,
    reference_rates: list[tuple[dt.date, Decimal]],
    skip_locked: bool,
) -> tuple[list[Statement], dict[str, str]]:
    """Claim and close the accounts in one transaction; their statements, and the accounts that failed.

    ``skip_locked``: leave an account another worker holds (it closes it) instead of waiting for it. An
    account whose close is refused is named in the failures and the others are closed: the batch is closed
    again one account at a time, each in its own savepoint.
    """
    with transaction.atomic():
        # Only the accounts' rows are locked; their holders' portal users (an outer join) are read for the SMS.
        claim = (
            Account.objects.filter(pk__in=account_ids, kind=AccountKind.CREDIT)
            .select_related("bank", "customer__portal_user")
            .order_by("pk")
        )
        if connection.features.has_select_for_update:
            claim = claim.select_for_update(of=("self",), skip_locked=skip_locked)
        accounts = list(claim)
        try:
            with transaction.atomic():
                statements = accounts_statements_close(
                    accounts=accounts, as_of=as_of, now=now, reference_rates=reference_rates
                )
            return statements, {}
        except ACCOUNT_FAILURES as error:
            if len(accounts) == 1:
                logger.warning("statement close failed", extra={"account_id": accounts[0].pk, "error": str(error)})
                return [], {accounts[0].reference: str(error)}
        statements, failures = [], {}
        for account in accounts:
            try:
                with transaction.atomic():
                    statements += accounts_statements_close(
                        accounts=[account], as_of=as_of, now=now, reference_rates=reference_rates
                    )
            except ACCOUNT_FAILURES as error:
                logger.warning("statement close failed", extra={"account_id": account.pk, "error": str(error)})
                failures[account.reference] = str(error)
        return statements, failures


def account_statements_close(
    *,
    account: Account,
    as_of: dt.date,
    now: dt.datetime | None = None,
    reference_rates: list[tuple[dt.date, Decimal]] | None = None,
) -> list[Statement]:
    """Close every period of one account that ended on or before ``as_of``, oldest first, in one transaction.

    Waits for the account's lock (a payment, a posting or another close holding it). Idempotent: a
    period already closed is not closed again. Raises what the close refuses (``NoCreditTerms``).
    """
    with transaction.atomic():
        locked = (
            Account.objects.select_for_update(of=("self",))
            .select_related("bank", "customer__portal_user")
            .filter(pk=account.pk, kind=AccountKind.CREDIT)
            .first()
        )
        if locked is None:
            return []
        return accounts_statements_close(
            accounts=[locked],
            as_of=as_of,
            now=now or timezone.now(),
            reference_rates=reference_rate_history() if reference_rates is None else reference_rates,
        )


def close_worker(
    *, as_of: dt.date, now: dt.datetime | None = None, on_closed: Callable[[Statement], None] | None = None
) -> CloseSummary:
    """Close every account due by ``as_of`` that no other worker holds, walking the accounts by id.

    The due accounts are read a chunk at a time (one query, no lock: the query that finds them
    reads every account after the cursor, so it runs once per chunk, not once per account), then
    claimed and closed a batch at a time, in one transaction each, with ``SELECT ... FOR UPDATE SKIP
    LOCKED``: a worker never waits for another's accounts, and never goes back (its cursor only moves
    forward, so a run over N accounts reads each once). An account another worker closed meanwhile is
    found closed (nothing is due) and not counted. An account that fails (a product without terms) is
    logged and left for the next run; the others go on. The NBP reference rate's history is read once
    per run.
    """
    summary = CloseSummary()
    reference_rates = reference_rate_history()
    skip_locked = connection.features.has_select_for_update_skip_locked
    last_id = 0
    while True:
        chunk = list(
            due_accounts(as_of).filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:CLAIM_CHUNK]
        )
        if not chunk:
            return summary
        last_id = chunk[-1]
        for start in range(0, len(chunk), CLOSE_BATCH):
            statements, failures = _batch_close(
                account_ids=chunk[start : start + CLOSE_BATCH],
                as_of=as_of,
                now=now or timezone.now(),
                reference_rates=reference_rates,
                skip_locked=skip_locked,
            )
            summary.accounts += len({statement.account_id for statement in statements}) + len(failures)
            summary.statements += len(statements)
            summary.failures.update(failures)
            if on_closed is not None:
                for statement in statements:
                    on_closed(statement)


def statements_close(*, as_of: dt.date, now: dt.datetime | None = None) -> CloseSummary:
    """Close everything due by ``as_of`` in this process (the daily task; the command adds workers)."""
    return close_worker(as_of=as_of, now=now)


def close_as_of_default(now: dt.datetime | None = None) -> dt.date:
    """Yesterday in Warsaw: a billing day is over once its last posting of the day can have arrived."""
    return timezone.localdate(now) - dt.timedelta(days=1)


# --- corrections ------------------------------------------------------------------------------------------


def statement_correct(*, actor: Actor, statement: Statement, reason: str, now: dt.datetime | None = None) -> Statement:
    """Issue a corrected statement of the same account and period, naming the one it corrects.

    The correction shows the corrected statement's lines and every posting dated within the period
    that no statement showed yet (the bank's correcting credit, say), with the bank's and holder's
    details as of now; its figures, minimum payment and due date follow from them (the due date is
    never earlier than the corrected one's). Only the account's latest statement can be corrected:
    an older period's mistake is put right by a posting on the next statement [ours: otherwise every
    later statement's opening balance would change]. Nothing is charged again.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationFailed({"reason": _("Say why the statement is corrected.")})
    if len(reason) > CORRECTION_REASON_MAX_LENGTH:
        raise ValidationFailed({"reason": _("At most %(max)d characters.") % {"max": CORRECTION_REASON_MAX_LENGTH}})
    now = now or timezone.now()
    with transaction.atomic():
        account = Account.objects.select_for_update().select_related("bank", "customer").get(pk=statement.account_id)
        latest = latest_statement(account)
        if latest is None or latest.pk != statement.pk:
            raise NotCorrectable()
        terms, card = account_credit_terms(account)
        kept = list(statement.lines.order_by("position"))
        reasons = {line.posting_id: line.description for line in kept if line.kind == PostingKind.FEE}
        shown_ids = [line.posting_id for line in kept]
        shown = {row.pk: row for row in _posting_rows(Posting.objects.filter(pk__in=shown_ids))}
        late = _unshown_postings({account.pk: statement.period_end})[account.pk]
        postings = [shown[line.posting_id] for line in kept] + late
        previous_lines = {line.posting_id: line for line in kept}
        figures = _figures(opening=statement.opening_balance_minor, postings=postings, account=account, terms=terms)
        corrections = Statement.objects.filter(account=account, period_end=statement.period_end).count()
        snapshot = {**statement.snapshot, "bank": bank_details(account.bank)}
        snapshot["holder"] = {**statement.snapshot.get("holder", {}), "name": account.customer.full_name}
        correction = Statement(
            account=account,
            bank_id=account.bank_id,
            customer_id=account.customer_id,
            number=statement_number(account, statement.period_end, correction=corrections),
            period_start=statement.period_start,
            period_end=statement.period_end,
            due_date=max(statement.due_date, billing.due_date(statement.period_end, terms.grace_period_days)),
            corrects=statement,
            correction_reason=reason,
            currency=statement.currency,
            interest_rule=statement.interest_rule,
            snapshot=snapshot,
            closed_at=now,
            **{**figures, "held_minor": statement.held_minor, "credit_limit_minor": statement.credit_limit_minor},
        )
        correction.available_minor = (
            correction.credit_limit_minor + correction.closing_balance_minor - correction.held_minor
        )
        correction.save(force_insert=True)
        lines = []
        for position, posting in enumerate(postings, 1):
            line = _line(correction, position, posting, reasons.get(posting.pk, ""))
            if posting.pk in previous_lines:
                # The corrected statement's words and dates stand; only the figures are re-added.
                before = previous_lines[posting.pk]
                line.transaction_date, line.fx_markup_percent = before.transaction_date, before.fx_markup_percent
            lines.append(line)
        StatementLine.objects.bulk_create(lines)
        audit_record(
            actor=actor,
            action="statements.statement.corrected",
            obj=correction,
            customer_id=account.customer_id,
            bank_id=account.bank_id,
            before={"number": statement.number, "closing_balance_minor": statement.closing_balance_minor},
            after={**_audit_figures(correction, lines=len(lines)), "reason": reason},
        )
        notice = _notice(statement=correction, card=card)
        sms_send_many([notice] if notice is not None else [])
    return correction
