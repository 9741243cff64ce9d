"""The statement close of 10,000 credit accounts on PostgreSQL, side by side with pgbench; one statement's PDF.

    .venv/bin/python bench/statements.py [--accounts 10000] [--postings 30] [--workers 2] [--pdf-renders 30]
    .venv/bin/python bench/statements.py --profile [--accounts 1000]

Measures, in one run on this machine: (1) pgbench's TPC-B transactions per second on a scratch database with
as many clients as the close has workers (the machine's own database limit; bench/authorizations.py does the
same), (2) ``manage.py close_statements --date D --workers 2`` as cron would run it, with the production
settings (throw-away keys), over ``--accounts`` credit accounts of one product with terms, each with last
month's statement and ``--postings`` settled card payments in this month's billing period (domestic ones,
two in euro, a cash withdrawal, a refund) and a repayment of last month's statement: half of the holders
repaid it in full by the due date, half only the minimum, so half of the statements charge interest. Target:
10,000 statements in 60 s or less. Then it checks that every account got exactly one statement and that the
figures add up (every posting on its statement, closing = opening + the lines = the account's balance, the
fees and the interest where they are due). (3) If the statement PDF renderer exists
(``kartosfera.statements.documents.statement_pdf_render``), the p95 of rendering one statement's PDF over
``--pdf-renders`` renders; target 300 ms or less.

The data is written in bulk (COPY for the ledger), not through the services: the services' own cost is what
the card core's benchmarks measure, and 300,000 payments through them would take this machine most of an
hour. Each row is what the services write (the ledger's CHECKs hold), and each account's balance is its
opening balance plus its postings. ``--profile`` closes the accounts in this process, in one worker, under
cProfile, and prints where the time goes and the queries per account. Needs PostgreSQL at TEST_POSTGRES_URL
(default postgres://postgres@127.0.0.1:5432/...) and pgbench on the PATH (Debian: postgresql-client). Every
database it creates is dropped at the end. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import random
import re
import subprocess
import sys
import time
from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from authorizations import (  # noqa: E402
    PG_SERVER,
    PGBENCH_DB,
    pgbench_tps,
    postgres_cpu,
    production_env,
    recreate_database,
)

BENCH_DB = "kartosfera_bench_statements"
PYTHON = sys.executable
TARGET_SECONDS_PER_10K = 60.0
TARGET_PDF_P95_MS = 300.0
BILLING_DAY = 10
SEED = 13
# Polish merchants with their categories: groceries, fuel, a pharmacy, a restaurant, clothes, an online shop.
DOMESTIC = [
    ("Biedronka 1234", "Białystok", "5411", "pos_contactless"),
    ("Orlen Stacja 88", "Łomża", "5541", "pos_chip"),
    ("Apteka Pod Orłem", "Suwałki", "5912", "pos_contactless"),
    ("Bar Mleczny Smak", "Augustów", "5812", "pos_contactless"),
    ("Reserved Galeria", "Białystok", "5651", "pos_chip"),
    ("Allegro", "Poznań", "5399", "ecommerce"),
]
FOREIGN = [("Lidl Berlin-Mitte", "Berlin", "DE", "5411"), ("Hotel Sacher", "Wien", "AT", "7011")]
EUR_PLN = Decimal("4.2850")


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_env() -> dict[str, str]:
    """The production settings (bench/authorizations.py) on the throw-away database."""
    return {**os.environ, **production_env(), "DATABASE_URL": f"{PG_SERVER}/{BENCH_DB}"}


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def statement_dates() -> tuple[dt.date, dt.date]:
    """The statement date the benchmark closes (the latest billing day before today) and the one before it."""
    from django.utils import timezone

    from kartosfera.statements.billing import statement_date_on_or_before

    as_of = statement_date_on_or_before(timezone.localdate() - dt.timedelta(days=1), BILLING_DAY)
    previous = statement_date_on_or_before(as_of - dt.timedelta(days=1), BILLING_DAY)
    return as_of, previous


# --- the data ---------------------------------------------------------------------------------------------


def make_accounts(count: int, postings_per_account: int) -> dict[str, Any]:
    """``count`` credit accounts with last month's statement and this month's postings; returns what was made."""
    from django.db import connection, transaction
    from django.utils import timezone

    from kartosfera.accounts.models import Account, AccountKind
    from kartosfera.cards.credit_terms import credit_terms_set
    from kartosfera.cards.models import Card, Funding
    from kartosfera.cards.operations_services import card_activate
    from kartosfera.cards.pan import encrypt_pan, pan_fingerprint
    from kartosfera.core.audit import Actor
    from kartosfera.customers.models import BankMembership, Customer, Residency
    from kartosfera.statements import billing
    from kartosfera.statements.models import InterestRule, Statement
    from kartosfera.testing import factories

    rng = random.Random(SEED)  # repeatable bench data, not a secret
    as_of, previous_end = statement_dates()
    period_start = previous_end + dt.timedelta(days=1)
    opened_on = previous_end - dt.timedelta(days=30)
    opened_at = timezone.make_aware(dt.datetime.combine(opened_on, dt.time(9)))
    bank = factories.bank_factory()
    product = factories.product_factory(bank=bank, name="Visa Credit Bench", funding=Funding.CREDIT)
    terms = credit_terms_set(
        actor=Actor.system("bench"),
        product=product,
        interest_rate_percent=Decimal("18.50"),
        grace_period_days=25,
        minimum_payment_percent=Decimal("5.00"),
        minimum_payment_minor=5_000,
        cash_withdrawal_fee_percent=Decimal("3.00"),
        cash_withdrawal_fee_min_minor=1_000,
        fx_markup_percent=Decimal("2.00"),
    )
    # One card through the services, the others' template (limits, expiry, status); its account, opened today,
    # has nothing due.
    template = card_activate(
        actor=Actor.system("bench"),
        card=factories.card_factory(customer=factories.customer_factory(bank=bank), product=product),
    )
    previous_due = billing.due_date(previous_end, terms.grace_period_days)

    started = time.perf_counter()
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    reference=f"BENCH-CIF-{n:06d}",
                    residency=Residency.RESIDENT,
                    pesel=factories.make_pesel(dt.date(1950, 1, 1) + dt.timedelta(days=n), n % 1000),
                    first_name="Jan",
                    last_name=f"Kowalski {n}",
                    phone_on_file=f"+4850{n:07d}",
                )
                for n in range(count)
            ],
            batch_size=2000,
        )
        BankMembership.objects.bulk_create(
            [BankMembership(customer=c, bank=bank, customer_number=f"B{n:08d}") for n, c in enumerate(customers)],
            batch_size=2000,
        )
        ledgers = [
            _ledger(rng, n, postings_per_account, period_start, as_of, terms, previous_due) for n in range(count)
        ]
        accounts = Account.objects.bulk_create(
            [
                Account(
                    bank=bank,
                    customer=customer,
                    reference=f"BENCH-ACC-{n:06d}",
                    kind=AccountKind.CREDIT,
                    currency="PLN",
                    balance_minor=ledger["opening"] + sum(row["change"] for row in ledger["rows"]) + ledger["repaid"],
                    opening_balance_minor=ledger["opening"],
                    credit_limit_minor=2_000_000,
                    billing_day=BILLING_DAY,
                    created_at=opened_at,
                )
                for n, (customer, ledger) in enumerate(zip(customers, ledgers, strict=True))
            ],
            batch_size=2000,
        )
        cards = []
        copied = {
            f.attname: getattr(template, f.attname)
            for f in Card._meta.concrete_fields
            if f.attname not in {"id", "reference", "account_id", "customer_id", "embossed_name", "replaces_id"}
            and not f.attname.startswith("pan_")
        }
        for n, (customer, account) in enumerate(zip(customers, accounts, strict=True)):
            pan = factories.make_pan("400000", 700_000 + n)
            cards.append(
                Card(
                    **copied,
                    reference=f"BENCH-CARD-{n:06d}",
                    account=account,
                    customer=customer,
                    embossed_name="JAN KOWALSKI",
                    pan_ciphertext=encrypt_pan(pan),
                    pan_fingerprint=pan_fingerprint(pan),
                    pan_last4=pan[-4:],
                )
            )
        cards = Card.objects.bulk_create(cards, batch_size=2000)
        # Last month's statement of each account: what it owed and by when (nothing was spent last month).
        statements = []
        for account, ledger in zip(accounts, ledgers, strict=True):
            statements.append(
                Statement(
                    account=account,
                    bank=bank,
                    customer_id=account.customer_id,
                    number=f"{account.reference}/{previous_end:%Y/%m}",
                    period_start=opened_on,
                    period_end=previous_end,
                    due_date=previous_due,
                    currency="PLN",
                    opening_balance_minor=ledger["opening"],
                    debits_minor=0,
                    credits_minor=0,
                    closing_balance_minor=ledger["opening"],
                    interest_minor=0,
                    fees_minor=0,
                    repayments_minor=0,
                    minimum_payment_minor=ledger["minimum"],
                    credit_limit_minor=account.credit_limit_minor,
                    held_minor=0,
                    available_minor=account.credit_limit_minor + ledger["opening"],
                    interest_rule=InterestRule.FIRST_STATEMENT,
                    snapshot={"version": 1},
                    closed_at=timezone.make_aware(dt.datetime.combine(previous_end + dt.timedelta(days=1), dt.time(2))),
                )
            )
        Statement.objects.bulk_create(statements, batch_size=2000)
        postings = _copy_postings(connection, accounts, cards, ledgers)
    # A production database has its statistics; freshly copied tables have none until autovacuum comes by.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "accounts": count,
        "postings": postings,
        "as_of": as_of,
        "seconds": time.perf_counter() - started,
        "account_ids": [account.pk for account in accounts],
    }


def _ledger(
    rng: random.Random, n: int, postings: int, start: dt.date, end: dt.date, terms: Any, due: dt.date
) -> dict[str, Any]:
    """One account's month: its opening balance (last month's statement), its card postings and the holder's
    repayment of last month's statement: in full two days before the due date (even accounts), or the minimum on
    the due date (odd ones: interest on this statement)."""
    from kartosfera.statements import billing

    days = (end - start).days
    rows: list[dict[str, Any]] = []

    def add(kind: str, where: tuple[str, str, str, str, str], amount: int, currency: str = "PLN") -> None:
        billed = int((Decimal(amount) * EUR_PLN).quantize(Decimal(1))) if currency == "EUR" else amount
        name, city, country, mcc, channel = where
        rows.append(
            {
                "kind": kind,
                "merchant": name,
                "city": city,
                "country": country,
                "mcc": mcc,
                "channel": channel,
                "amount": amount,
                "currency": currency,
                "billing": billed,
                "rate": EUR_PLN if currency == "EUR" else None,
                "day": start + dt.timedelta(days=rng.randrange(days + 1)),
                "j": len(rows),
                "change": billed if kind == "refund" else -billed,
            }
        )

    first = DOMESTIC[0]
    for _j in range(postings - 4):
        name, city, mcc, channel = DOMESTIC[rng.randrange(len(DOMESTIC))]
        add("clearing", (name, city, "PL", mcc, channel), rng.randrange(500, 50_000))
    for name, city, country, mcc in FOREIGN:
        add("clearing", (name, city, country, mcc, "pos_chip"), rng.randrange(1_000, 20_000), "EUR")
    add("clearing", ("Bankomat Euronet", "Warszawa", "PL", "6011", "atm"), rng.choice([10_000, 20_000, 50_000]))
    add("refund", (first[0], first[1], "PL", first[2], first[3]), rows[0]["billing"] // 2 or 1)
    opening = -rng.randrange(50_000, 500_000)
    minimum = billing.minimum_payment(
        owed_minor=-opening, percent=terms.minimum_payment_percent, at_least_minor=terms.minimum_payment_minor
    )
    in_full = n % 2 == 0
    return {
        "opening": opening,
        "rows": rows,
        "minimum": minimum,
        "repaid": -opening if in_full else minimum,
        "repaid_on": due - dt.timedelta(days=2) if in_full else due,
    }


POSTING_COLUMNS = (
    "record_id",
    "kind",
    "channel",
    "card_id",
    "bank_reference",
    "description",
    "account_id",
    "network_transaction_id",
    "acquirer_reference_number",
    "merchant_name",
    "merchant_city",
    "merchant_country",
    "mcc",
    "amount_minor",
    "currency",
    "billing_amount_minor",
    "billing_currency",
    "billing_rate",
    "settlement_amount_minor",
    "settlement_currency",
    "balance_change_minor",
    "released_minor",
    "processing_date",
    "local_date",
    "needs_review",
    "review_reason",
    "request_fingerprint",
    "created_at",
)


def _copy_postings(connection: Any, accounts: list[Any], cards: list[Any], ledgers: list[Any]) -> int:
    """The month's ledger through COPY: the card payments, and each holder's repayment of last month's statement."""
    from django.utils import timezone

    written = 0
    sql = f"COPY processing_posting ({', '.join(POSTING_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for account, card, ledger in zip(accounts, cards, ledgers, strict=True):
            for row in ledger["rows"]:
                record = f"bench-{account.pk}-{row['j']}"
                created = timezone.make_aware(dt.datetime.combine(row["day"], dt.time(6)))
                copy.write_row(
                    (
                        record, row["kind"], row["channel"], card.pk, "", "", account.pk, f"NT-{record}",
                        "", row["merchant"], row["city"], row["country"], row["mcc"], row["amount"],
                        row["currency"], row["billing"], "PLN", row["rate"], row["billing"], "PLN",
                        row["change"], 0, row["day"], row["day"] - dt.timedelta(days=1), False, "", "", created,
                    )
                )  # fmt: skip
                written += 1
            repaid, paid_on = ledger["repaid"], ledger["repaid_on"]
            created = timezone.make_aware(dt.datetime.combine(paid_on, dt.time(10)))
            copy.write_row(
                (
                    None, "repayment", "", None, f"REPAY-{account.reference}", "", account.pk, "", "", "", "",
                    "", "", repaid, "PLN", repaid, "PLN", None, None, "", repaid, 0, paid_on, paid_on, False, "",
                    "", created,
                )
            )  # fmt: skip
            written += 1
    return written


# --- the close --------------------------------------------------------------------------------------------


def close_command(env: dict[str, str], as_of: dt.date, workers: int) -> tuple[float, float, str]:
    """``manage.py close_statements`` as cron runs it; (wall seconds of the process, the command's own, output)."""
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "close_statements", "--date", as_of.isoformat(), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"close_statements failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    own = re.search(r"account\(s\) in ([0-9.]+) s", result.stdout)
    return wall, float(own.group(1)) if own else wall, result.stdout


def verify(made: dict[str, Any]) -> dict[str, int]:
    """Every account got exactly one statement of the period, and its figures add up; returns the counts."""
    from django.db.models import Count, F, Sum

    from kartosfera.processing.models import Posting, PostingKind
    from kartosfera.statements.models import FeeReason, InterestRule, Statement, StatementLine

    as_of, count = made["as_of"], made["accounts"]
    closed = Statement.objects.filter(period_end=as_of, corrects__isnull=True)
    problems = []
    if closed.count() != count or closed.values("account").distinct().count() != count:
        problems.append(f"{closed.count()} statements of {closed.values('account').distinct().count()} accounts")
    per_account = Statement.objects.values("account").annotate(n=Count("id")).filter(n__gt=2).count()
    if per_account:
        problems.append(f"{per_account} accounts with more than last month's and this month's statement")
    unbalanced = (
        closed.annotate(lines_total=Sum("lines__balance_change_minor"))
        .exclude(closing_balance_minor=F("opening_balance_minor") + F("lines_total"))
        .count()
    )
    if unbalanced:
        problems.append(f"{unbalanced} statements whose lines do not add up to the closing balance")
    off = closed.exclude(closing_balance_minor=F("account__balance_minor")).count()
    if off:
        problems.append(f"{off} accounts whose balance is not their statement's closing balance")
    lines = StatementLine.objects.filter(statement__in=closed)
    postings = Posting.objects.filter(account_id__in=made["account_ids"])
    if lines.count() != postings.count():
        problems.append(f"{lines.count()} lines for {postings.count()} postings")
    cash = lines.filter(kind=PostingKind.FEE, description=FeeReason.CASH_WITHDRAWAL).count()
    conversion = lines.filter(kind=PostingKind.FEE, description=FeeReason.CONVERSION).count()
    if (cash, conversion) != (count, 2 * count):
        problems.append(f"{cash} cash withdrawal fees and {conversion} conversion fees")
    charged = closed.filter(interest_rule=InterestRule.CHARGED, interest_minor__gt=0).count()
    repaid = closed.filter(interest_rule=InterestRule.REPAID_IN_FULL, interest_minor=0).count()
    if (charged, repaid) != (count // 2, (count + 1) // 2):
        problems.append(f"{charged} statements with interest and {repaid} repaid in full")
    if problems:
        sys.exit("The close's figures are wrong: " + "; ".join(problems))
    return {"statements": closed.count(), "lines": lines.count(), "interest": charged, "fees": cash + conversion}


# --- one statement's PDF ----------------------------------------------------------------------------------


def pdf_render_p95(renders: int) -> float | None:
    """THE PDF PART: the p95 in ms of rendering one statement's PDF over ``renders`` renders (after one warm-up),
    or None when this tree has no renderer yet (kartosfera.statements.documents.statement_pdf_render)."""
    try:
        from kartosfera.statements import documents
    except ImportError:
        return None
    render = getattr(documents, "statement_pdf_render", None)
    if render is None:
        return None
    from kartosfera.statements.models import Statement

    statement = Statement.objects.filter(interest_minor__gt=0).order_by("pk").first()
    assert statement is not None
    read_lines = getattr(documents, "statement_lines", None)
    lines = read_lines(statement) if read_lines is not None else list(statement.lines.order_by("position"))
    render(statement=statement, lines=lines, language="pl")  # warm-up: fonts, templates
    samples = []
    for _ in range(renders):
        started = time.perf_counter()
        pdf = render(statement=statement, lines=lines, language="pl")
        samples.append((time.perf_counter() - started) * 1000)
        assert pdf.startswith(b"%PDF"), "not a PDF"
    samples.sort()
    return samples[min(len(samples) - 1, int(len(samples) * 0.95))]


# --- the profile ------------------------------------------------------------------------------------------


def profile(made: dict[str, Any]) -> None:
    """Close the accounts in this process, one worker: the first half timed by the CPU it takes (this process's
    and PostgreSQL's, which other work on the machine changes little), the second half under cProfile with
    every query captured; where the time goes, and the queries per account."""
    import resource

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from kartosfera.cards.credit_terms import reference_rate_history
    from kartosfera.statements import close

    timed = made["account_ids"][: len(made["account_ids"]) // 2]

    def cpu() -> tuple[float, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime, postgres_cpu()

    now = timezone.now()
    (python_start, postgres_start), wall_start = cpu(), time.perf_counter()
    rates = reference_rate_history()
    # As a worker closes them: a batch at a time, each in one transaction.
    for start in range(0, len(timed), close.CLOSE_BATCH):
        close._batch_close(
            account_ids=timed[start : start + close.CLOSE_BATCH],
            as_of=made["as_of"],
            now=now,
            reference_rates=rates,
            skip_locked=True,
        )
    (python_end, postgres_end), wall = cpu(), time.perf_counter() - wall_start
    python_ms = (python_end - python_start) * 1000 / len(timed)
    postgres_ms = (postgres_end - postgres_start) * 1000 / len(timed)
    cores = os.cpu_count() or 1
    print(
        f"in-process, one worker: {len(timed):,} statements in {wall:.1f} s; CPU per statement: Python "
        f"{python_ms:.1f} ms, PostgreSQL {postgres_ms:.1f} ms: at most {cores * 1000 / (python_ms + postgres_ms):,.0f} "
        f"statements/s on {cores} idle cores"
    )

    # Every query of the run, not Django's last 9,000.
    connection.queries_log = deque(maxlen=10_000_000)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        profiler.enable()
        summary = close.close_worker(as_of=made["as_of"], now=now)
        profiler.disable()
    seconds = time.perf_counter() - started
    print(
        f"in-process, one worker, under cProfile: {summary.statements:,} statements in {seconds:.1f} s "
        f"({summary.statements / seconds:,.0f}/s); {len(queries) / max(1, summary.accounts):.1f} queries per account"
    )
    shapes: dict[str, int] = {}
    for query in queries.captured_queries:
        shape = re.sub(r"\b\d+\b|'[^']*'", "?", query["sql"])[:150]
        shapes[shape] = shapes.get(shape, 0) + 1
    print("the most frequent queries (per account):")
    for shape, n in sorted(shapes.items(), key=lambda item: -item[1])[:12]:
        print(f"  {n / max(1, summary.accounts):5.2f}  {shape}")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(os.environ.get("BENCH_PROFILE_FILTER", ""), 40)
    stats.sort_stats("tottime").print_stats(25)
    print(out.getvalue())


def load_average() -> str:
    """The machine's 1-minute load average: the figures mean little when other work shares the cores."""
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--postings", type=int, default=30, help="card postings per account (at least 5)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pdf-renders", type=int, default=30)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="close in this process under cProfile instead")
    args = parser.parse_args()
    if args.postings < 5:
        parser.error("--postings must be at least 5")
    print(
        f"== statements: the close ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"load average {load_average()})"
    )
    try:
        tps = 0.0
        if not args.profile:
            tps, _cpu = pgbench_tps(seconds=args.pgbench_seconds, clients=args.workers)
            drop_database(PGBENCH_DB)
        recreate_database(BENCH_DB)
        env = bench_env()
        setup_django(env)
        made = make_accounts(args.accounts, args.postings)
        print(
            f"data: {made['accounts']:,} credit accounts, {made['postings']:,} postings in the period ending "
            f"{made['as_of']:%Y-%m-%d}, written in {made['seconds']:.1f} s"
        )
        if args.profile:
            profile(made)
            verify(made)
            return
        from django.db import connections

        connections.close_all()
        wall, own, _output = close_command(env, made["as_of"], args.workers)
        figures = verify(made)
        rate = figures["statements"] / own
        target = TARGET_SECONDS_PER_10K * made["accounts"] / 10_000
        print(
            f"close_statements --workers {args.workers}: {figures['statements']:,} statements, "
            f"{figures['lines']:,} lines ({figures['fees']:,} fees, {figures['interest']:,} with interest) "
            f"in {own:.1f} s ({wall:.1f} s with the process's start): {rate:,.0f} statements/s; "
            f"target <= {target:.0f} s: {'met' if own <= target else 'MISSED'}"
        )
        print(
            f"ratio: {rate / tps:.1%} of pgbench TPC-B ({tps:,.0f} tps, {args.workers} clients); "
            f"{figures['lines'] / own / tps:.2f} statement lines per TPC-B transaction"
        )
        print(f"load average after the close: {load_average()}")
        p95 = pdf_render_p95(args.pdf_renders)
        if p95 is None:
            print("one statement's PDF: skipped (kartosfera.statements.documents.statement_pdf_render not here yet)")
        else:
            verdict = "met" if p95 <= TARGET_PDF_P95_MS else "MISSED"
            print(
                f"one statement's PDF: p95 {p95:.0f} ms over {args.pdf_renders} renders; "
                f"target <= {TARGET_PDF_P95_MS:.0f} ms: {verdict}"
            )
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(BENCH_DB)
        drop_database(PGBENCH_DB)


if __name__ == "__main__":
    main()
