"""What the fault tests run inside a Django process on the private cluster (kartosfera.testing.processes.django_call):
the data each scenario starts from, and the checks of what the database holds after the crash.

Each function takes and returns JSON-able values; the checks return what they found wrong instead of raising, so
that the test prints every defect at once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any


def processor_data(cards: int) -> dict[str, Any]:
    """A processor key and ``cards`` funded, active debit cards (the benchmark's data)."""
    from kartosfera.testing.processor import make_fixtures

    return make_fixtures(cards, name="faults processor")


def _authorization_facts(ids: list[str]) -> dict[str, dict[str, Any]]:
    from kartosfera.core.models import AuditEvent
    from kartosfera.processing.models import Authorization

    found: dict[str, dict[str, Any]] = {}
    rows = Authorization.objects.filter(processor_id__in=ids)
    audits = Counter(
        AuditEvent.objects.filter(
            object_type="processing.authorization",
            object_id__in=[str(a.pk) for a in rows],
            action__in=["processing.authorization.approved", "processing.authorization.declined"],
        ).values_list("object_id", flat=True)
    )
    for a in rows:
        found[a.processor_id] = {
            "rows": 1,
            "audit_rows": audits[str(a.pk)],
            "approved": a.approved,
            "response_code": a.response_code,
            "authorization_code": a.authorization_code or None,
            "approved_amount_minor": a.approved_amount_minor,
        }
    return found


def _reversal_facts(ids: list[str]) -> dict[str, dict[str, Any]]:
    from kartosfera.core.models import AuditEvent
    from kartosfera.processing.models import AuthorizationAdjustment

    audits = Counter(
        AuditEvent.objects.filter(action="processing.authorization.reversed", after__reversal_id__in=ids).values_list(
            "after__reversal_id", flat=True
        )
    )
    rows = Counter(AuthorizationAdjustment.objects.filter(processor_id__in=ids).values_list("processor_id", flat=True))
    amounts = dict(
        AuthorizationAdjustment.objects.filter(processor_id__in=ids).values_list("processor_id", "amount_minor")
    )
    return {
        i: {"rows": rows[i], "audit_rows": audits[i], "amount_minor": amounts[i]} for i in ids if rows[i] or audits[i]
    }


def _clearing_facts(ids: list[str]) -> dict[str, dict[str, Any]]:
    from kartosfera.core.models import AuditEvent
    from kartosfera.processing.models import Posting

    audits = Counter(
        AuditEvent.objects.filter(action="processing.clearing.posted", after__record_id__in=ids).values_list(
            "after__record_id", flat=True
        )
    )
    rows = Counter(Posting.objects.filter(record_id__in=ids).values_list("record_id", flat=True))
    return {i: {"rows": rows[i], "audit_rows": audits[i]} for i in ids if rows[i] or audits[i]}


def processor_check(requests: list[dict[str, Any]]) -> dict[str, Any]:
    """What the database holds of each request the load sent (``kind``, ``id``, ``answer``: the body of a 200
    answer or None), and every defect: an answered request missing or twice there, a request there without
    its audit row (partly written), a stored decision that differs from the answer given, and books that do
    not add up (processing/tests/helpers.books_check: held = the open holds, balance = opening + postings, the
    day's counters = their definition)."""
    from kartosfera.accounts.models import Account
    from kartosfera.cards.models import Card
    from kartosfera.processing.tests.helpers import CardFixture, books_check

    by_kind: dict[str, list[str]] = {"authorization": [], "reversal": [], "clearing": []}
    for request in requests:
        by_kind[request["kind"]].append(request["id"])
    facts = {
        "authorization": _authorization_facts(by_kind["authorization"]),
        "reversal": _reversal_facts(by_kind["reversal"]),
        "clearing": _clearing_facts(by_kind["clearing"]),
    }
    defects: list[str] = []
    found: dict[str, Any] = {}
    answered = present = 0
    for request in requests:
        kind, rid, answer = request["kind"], request["id"], request["answer"]
        fact = facts[kind].get(rid)
        if fact is not None:
            present += 1
            found[rid] = fact
            if fact["rows"] != 1 or fact["audit_rows"] != 1:
                defects.append(f"{kind} {rid}: {fact['rows']} row(s), {fact['audit_rows']} audit row(s)")
        if answer is None:
            continue
        answered += 1
        if fact is None:
            defects.append(f"{kind} {rid}: answered but not in the database (lost)")
            continue
        if kind == "authorization":
            for field in ("approved", "response_code", "authorization_code", "approved_amount_minor"):
                if answer[field] != fact[field]:
                    defects.append(f"authorization {rid}: answered {field}={answer[field]!r}, stored {fact[field]!r}")
        elif kind == "reversal" and answer["amount_minor"] != fact["amount_minor"]:
            defects.append(f"reversal {rid}: answered {answer['amount_minor']}, stored {fact['amount_minor']}")
    books = 0
    for card in Card.objects.select_related("account"):
        account = Account.objects.get(pk=card.account_id)
        try:
            books_check(CardFixture(card=card, pan=""), opening=account.opening_balance_minor)
        except AssertionError as error:
            defects.append(f"the books of card *{card.pan_last4}: {error}")
        books += 1
    return {"answered": answered, "present": present, "found": found, "defects": defects, "cards_checked": books}


# --- the statement close ------------------------------------------------------------------------------------


def statement_data(accounts: int) -> dict[str, Any]:
    """``accounts`` credit accounts, one card each, with one billing period ended by yesterday: each owes a
    purchase (a statement SMS is due) and every second one took cash (a cash fee is due)."""
    import time_machine
    from django.utils import timezone

    from kartosfera.cards.credit_terms import credit_terms_set
    from kartosfera.cards.models import Funding
    from kartosfera.processing.models import Channel
    from kartosfera.statements import billing
    from kartosfera.statements.tests.helpers import TERMS, CreditCard, at, pay_by_card, spend
    from kartosfera.testing import factories

    as_of = timezone.localdate() - dt.timedelta(days=1)
    billing_day = min(as_of.day, 28)
    period_end = billing.statement_date_on_or_before(as_of, billing_day)
    opened = period_end - dt.timedelta(days=20)
    with time_machine.travel(at(opened), tick=False):
        bank = factories.bank_factory()
        product = factories.product_factory(name="Visa Credit", funding=Funding.CREDIT, bank=bank)
        credit_terms_set(actor=factories.SYSTEM, product=product, **TERMS)
        made = []
        for n in range(accounts):
            customer = factories.customer_factory(bank=bank)
            account = factories.account_factory(
                customer=customer, bank=bank, kind="credit", billing_day=billing_day, credit_limit_minor=1_000_000
            )
            pan = factories.make_pan("400000", 700_000 + n)
            card = factories.card_factory(customer=customer, product=product, account=account, pan=pan)
            made.append(CreditCard(card=card, account=account, product=product, pan=pan))
    for n, cc in enumerate(made):
        spend(cc, 20_000 + n, opened)
        if n % 2 == 0:
            pay_by_card(cc, 10_000, opened, channel=Channel.ATM, mcc="6011")
    return {"as_of": as_of.isoformat(), "accounts": accounts}


def statement_check(as_of: str) -> dict[str, Any]:
    """Every credit account's statements, charges, audit rows and SMS after a close: counts and defects."""
    from django.db.models import Count, Sum

    from kartosfera.accounts.models import Account, AccountKind
    from kartosfera.core.models import AuditEvent
    from kartosfera.notifications.models import OutboundSms
    from kartosfera.processing.models import Posting, PostingKind
    from kartosfera.statements.close import due_accounts
    from kartosfera.statements.models import Statement

    day = dt.date.fromisoformat(as_of)
    accounts = Account.objects.filter(kind=AccountKind.CREDIT, cards__isnull=False).distinct()
    statements = Counter(Statement.objects.filter(corrects__isnull=True).values_list("account_id", flat=True))
    audits = Counter(
        AuditEvent.objects.filter(action="statements.statement.closed").values_list("object_id", flat=True)
    )
    statement_ids = {str(pk) for pk in Statement.objects.values_list("pk", flat=True)}
    texts = OutboundSms.objects.filter(purpose="statements.statement_closed").count()
    fees = Counter(Posting.objects.filter(kind=PostingKind.FEE).values_list("account_id", flat=True))
    defects: list[str] = []
    for account in accounts:
        if statements[account.pk] > 1:
            defects.append(f"account {account.reference}: {statements[account.pk]} statements")
        postings = Posting.objects.filter(account=account).aggregate(s=Sum("balance_change_minor"))["s"] or 0
        if account.balance_minor != account.opening_balance_minor + postings:
            defects.append(f"account {account.reference}: balance is not opening + postings")
        if fees[account.pk] > 1:
            defects.append(f"account {account.reference}: {fees[account.pk]} cash fees")
    for statement_id, count in audits.items():
        if count != 1 or statement_id not in statement_ids:
            defects.append(f"statement {statement_id}: {count} audit row(s)")
    lines_less = Statement.objects.annotate(n=Count("lines")).filter(n=0).count()
    if lines_less:
        defects.append(f"{lines_less} statement(s) without lines")
    closed = sum(1 for n in statements.values() if n >= 1)
    return {
        "accounts": accounts.count(),
        "closed": closed,
        "statements": sum(statements.values()),
        "audit_rows": sum(audits.values()),
        "sms": texts,
        "fees": sum(fees.values()),
        "still_due": due_accounts(day).count(),
        "defects": defects,
    }


# --- text messages --------------------------------------------------------------------------------------------


def sms_queue(count: int) -> list[int]:
    """Queue ``count`` registered text messages (a new phone's check code) for the worker; their ids."""
    from django.db import transaction

    from kartosfera.notifications.services import SmsToSend, sms_send_many
    from kartosfera.sca.sms_texts import SMS_CODE

    with transaction.atomic():
        messages = sms_send_many(
            [
                SmsToSend(
                    to=f"+4860{n:07d}",
                    message=SMS_CODE.render(bank="Kartosfera", code=f"{n:06d}", description="Fault test"),
                    purpose="faults.test",
                )
                for n in range(count)
            ]
        )
    return [m.pk for m in messages]


def sms_state() -> dict[str, Any]:
    """The messages by status and the delivery tasks by status."""
    from django_tasks_db.models import DBTaskResult

    from kartosfera.notifications.models import OutboundSms

    return {
        "messages": dict(Counter(OutboundSms.objects.values_list("status", flat=True))),
        "tasks": dict(Counter(DBTaskResult.objects.values_list("status", flat=True))),
        "attempts": dict(Counter(OutboundSms.objects.values_list("attempts", flat=True))),
    }
