"""The demo's credit cards: the bank's nightly statement close and the holders' repayments, day by day.

``manage.py simulate_card_traffic --statements`` (scripts/demo.sh) calls ``demo_statements_day_begins`` as each
simulated day begins, before that day's clearing and payments: the real close (``statements_close``) closes
every period that ended by the day before, so each statement sees its own period's postings as they were then,
and the holders whose statement falls due repay it through the bank's posting (``repayment_record``), each in
their own way (``DEMO_REPAYMENT_HABITS``). So the demo starts with months of statements that show each rule of
docs/statements.md: a statement repaid in full (no interest on the next one), one repaid in part or late
(interest charged), one with nothing owed, and the fees of the cash withdrawals and converted payments the
simulated traffic made.

Idempotent, as the demo is: a period is closed once, and a repayment's bank reference is made from its
statement's number, so a second run finds it instead of paying twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from kartosfera.core.audit import Actor
from kartosfera.demo.bank import account_reference
from kartosfera.processing.ledger import repayment_record
from kartosfera.statements import billing
from kartosfera.statements.close import statements_close
from kartosfera.statements.models import Statement

# The bank's core system posts the repayments it received (in production through the provisioning API).
REPAYMENT_ACTOR = Actor.system("demo: the bank's core system")
REPAYMENT_REFERENCE_PREFIX = "DEMO-REPAY-"


class Pays:
    """What a holder repays of a statement."""

    OWED = "owed"  # everything the statement says is owed: no interest on the next one
    MINIMUM = "minimum"  # the minimum payment only: interest on the next statement
    PART = "part"  # a share of what is owed, at least the minimum


@dataclass(frozen=True)
class RepaymentHabit:
    """How one demo holder repays each statement: how much, and how many days before its due date (negative:
    after it, a late payment). A payment before the due date is made on a working day, as a transfer is."""

    pays: str
    days_before_due: int
    part_percent: Decimal = Decimal(0)


# By the demo's account number (demo/bank.py). An account not listed (a credit account made in the portal's
# back office, say) is closed every night but never repaid.
DEMO_REPAYMENT_HABITS: dict[int, RepaymentHabit] = {
    # Anna Kowalska repays her Visa Gold in full three days before the due date: never any interest.
    2: RepaymentHabit(Pays.OWED, days_before_due=3),
    # Paweł Zieliński pays the minimum on the due date: interest on every statement after the first.
    8: RepaymentHabit(Pays.MINIMUM, days_before_due=0),
    # Katarzyna Szymańska's card is blocked by the bank; what little she owes she repays in full a day early.
    10: RepaymentHabit(Pays.OWED, days_before_due=1),
    # Tomasz Jankowski pays back a third of his large debt a week early: interest, but a falling balance.
    14: RepaymentHabit(Pays.PART, days_before_due=7, part_percent=Decimal("33.33")),
    # Piotr Kaczmarek pays the minimum, but three days late: interest, as if he had paid nothing by the due date.
    18: RepaymentHabit(Pays.MINIMUM, days_before_due=-3),
    # Zofia Adamczyk (BS Wzorowo) repays in full on the due date.
    27: RepaymentHabit(Pays.OWED, days_before_due=0),
}


def repayment_day(statement: Statement, habit: RepaymentHabit) -> dt.date:
    """The day the holder's repayment of ``statement`` counts from (its value date)."""
    day = statement.due_date - dt.timedelta(days=habit.days_before_due)
    if habit.days_before_due > 0:
        while billing.is_day_off(day):
            day -= dt.timedelta(days=1)
    return day


def repayment_amount(statement: Statement, habit: RepaymentHabit) -> int:
    """What the holder repays of ``statement`` (minor units; 0: nothing is owed)."""
    owed = statement.owed_minor
    if habit.pays == Pays.OWED:
        return owed
    if habit.pays == Pays.MINIMUM:
        return statement.minimum_payment_minor
    return min(owed, max(statement.minimum_payment_minor, billing.percent_of(owed, habit.part_percent)))


def demo_repayments_post(*, day: dt.date, now: dt.datetime) -> int:
    """Post the demo holders' repayments whose value date is ``day``; how many were new."""
    posted = 0
    references = {account_reference(number): habit for number, habit in DEMO_REPAYMENT_HABITS.items()}
    # A repayment is due at most a few days before or after a due date: only those statements are read.
    window = max(abs(habit.days_before_due) for habit in references.values()) + 7
    candidates = Statement.objects.filter(
        account__reference__in=references,
        correction__isnull=True,
        due_date__range=(day - dt.timedelta(days=window), day + dt.timedelta(days=window)),
    ).select_related("account")
    for statement in candidates.order_by("pk"):
        habit = references[statement.account.reference]
        amount = repayment_amount(statement, habit)
        if amount <= 0 or repayment_day(statement, habit) != day:
            continue
        booked = repayment_record(
            actor=REPAYMENT_ACTOR,
            account=statement.account,
            reference=f"{REPAYMENT_REFERENCE_PREFIX}{statement.number}",
            amount_minor=amount,
            currency=statement.currency,
            value_date=day,
            now=now,
        )
        posted += booked.created
    return posted


def demo_statements_day_begins(moment: dt.datetime) -> dict[str, int]:
    """The bank's night before ``moment``'s day: close what is due by the day before, then the day's repayments.

    What it did, for the simulator's summary. An account that cannot be closed (its product has no terms) is
    counted and left, as the nightly job leaves it.
    """
    if settings.IS_PRODUCTION:
        raise RuntimeError("the demo's repayments are never posted in production")
    day = timezone.localdate(moment)
    summary = statements_close(as_of=day - dt.timedelta(days=1), now=moment)
    return {
        "statements closed": summary.statements,
        "statement closes failed": len(summary.failures),
        "repayments posted": demo_repayments_post(day=day, now=moment),
    }
