"""The card core's hot SQL: the statements an authorization's decision reads and writes with.

Written by hand (core/statements.py says why) and sent in as few round trips as possible; the
SQL text is built only from the models' metadata and every value is a parameter.
"""
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt

from django.db import connection

from kartosfera.accounts.models import Account
from kartosfera.cards.models import Card, CardProduct
from kartosfera.core.statements import Statement, quote, select_list
from kartosfera.customers.models import Customer
from kartosfera.processing.conversion import eur_pln_rate_statement
from kartosfera.processing.models import Authorization, DailySpend, SpendGroup, spend_groups
from kartosfera.processing.pipeline import AuthorizationRequest, Context


def decision_reads(
    request: AuthorizationRequest, card_fp: str, local_date: dt.date, now: dt.datetime
) -> tuple[Statement, ...]:
    """The decision's reads, sent in one round trip: the card with its product and account (locked) and its
    customer's stop of everything, the
    processor id's earlier authorization (a retry), today's counters of the channel's limits, and the EUR/PLN
    reference rate of the PSD2 ceilings (conversion.py).

    The card and its account are locked by the first statement (card first, as everywhere in the card
    core: no deadlocks). The other two run after it has its locks, each with a new snapshot (PostgreSQL's
    READ COMMITTED), so they see what a transaction that held the lock before committed: a retry finds
    the first request's row and the counters include its amount.
    """
    card_table, product_table, account_table, customer_table = (
        quote(model._meta.db_table) for model in (Card, CardProduct, Account, Customer)
    )
    lock = " FOR UPDATE OF c, a" if connection.features.has_select_for_update_of else ""
    groups = spend_groups(request.channel)
    return (
        Statement(
            f"SELECT {select_list(Card, 'c')}, {select_list(CardProduct, 'p')}, {select_list(Account, 'a')}, "
            # The customer's "stop everything" (one column, not locked: the stop's service locks the customer's
            # row, never the card's; a payment decided while a stop commits is decided as before it).
            f"u.{quote('payments_stopped_at')} "
            f"FROM {card_table} c JOIN {product_table} p ON p.id = c.product_id "
            f"JOIN {account_table} a ON a.id = c.account_id "
            f"JOIN {customer_table} u ON u.id = c.customer_id "
            f"WHERE c.pan_fingerprint = %s AND c.expiry = %s{lock}",
            (card_fp, request.expiry),
        ),
        Statement(
            f"SELECT {select_list(Authorization, 'x')} FROM {quote(Authorization._meta.db_table)} x "
            "WHERE x.processor_id = %s",
            (request.processor_id,),
        ),
        Statement(
            f"SELECT s.{quote('group')}, s.amount_minor, s.count FROM {quote(DailySpend._meta.db_table)} s "
            f"JOIN {card_table} c ON c.id = s.card_id WHERE c.pan_fingerprint = %s AND c.expiry = %s "
            f"AND s.local_date = %s AND s.{quote('group')} IN ({', '.join(['%s'] * len(groups))})",
            (card_fp, request.expiry, local_date, *groups),
        ),
        eur_pln_rate_statement(at=now),
    )


def hold_statements(ctx: Context, amount: int, *, count: bool = True) -> list[Statement]:
    """Hold ``amount`` more on the account and count it in the day's limits (to run with the locks held).

    ``ctx.spent`` holds the day's counters as the limit check read them under the card lock, so each
    counter is written as its new total. ``count``: the hold is a new payment, so each counter it
    touches counts one more (the count limits; an increment of an approved payment is not a new one);
    added to the stored count, whatever was read. A counter kept for counting only (``pos``) keeps an
    amount of 0.
    """
    account_table = quote(Account._meta.db_table)
    statements = [
        Statement(f"UPDATE {account_table} SET held_minor = held_minor + %s WHERE id = %s", (amount, ctx.account.pk))
    ]
    groups = ctx.spend_groups
    if groups:
        rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(groups))
        params: list[object] = []
        for group in groups:
            amount_total = ctx.spent.get(group, 0) + amount if group != SpendGroup.POS else 0
            params += [ctx.card.pk, ctx.local_date, group, amount_total, 1 if count else 0]
        table = quote(DailySpend._meta.db_table)
        statements.append(
            Statement(
                f"INSERT INTO {table} (card_id, local_date, {quote('group')}, amount_minor, count) "
                f"VALUES {rows} ON CONFLICT (card_id, local_date, {quote('group')}) "
                f"DO UPDATE SET amount_minor = excluded.amount_minor, count = {table}.count + excluded.count",
                params,
            )
        )
    return statements


def authorization_id_text(processor_id: str) -> Statement:
    """The id (as text, like an audit row's object id) of the authorization inserted earlier in the same batch."""
    return Statement(
        f"CAST((SELECT id FROM {quote(Authorization._meta.db_table)} WHERE processor_id = %s) AS TEXT)",
        (processor_id,),
    )
