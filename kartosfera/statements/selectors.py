"""The statements' reads: the holder's, through their credit card, and the back office's, through the customer.

A statement is the account owner's: the debt it states is theirs. So the holder reaches the
statements of a card's account only when they own both the card and the account; an additional
card's holder (a business card on the company's account) does not, as they do not see the
account's repayments (processing/selectors.py: posting_history). Somebody else's card or
statement is a 404, like a missing one. Staff reach a customer's statements through the customer
and their bank scope (banks/scope.py): another bank's statement is None (the view's 404).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from kartosfera.banks.scope import BankScope
from kartosfera.cards.models import Card
from kartosfera.cards.selectors import card_get_for_customer
from kartosfera.customers.models import Customer
from kartosfera.statements.close import latest_statement
from kartosfera.statements.models import Statement


def _statements() -> QuerySet[Statement]:
    # The corrected statement and the correction come with each row (one join each): the list and
    # the page name them.
    return Statement.objects.select_related("corrects", "correction").order_by("-period_end", "-id")


def statement_card_get(*, customer: Customer, card_id: int) -> Card:
    """The customer's credit card whose account's statements are read; 404 unless they own the card and its account."""
    card = card_get_for_customer(customer=customer, card_id=card_id)
    if not statements_visible(customer=customer, card=card):
        raise Http404
    return card


def statements_visible(*, customer: Customer, card: Card) -> bool:
    """Whether ``customer`` sees the statements of ``card``'s account: a credit card of an account they own."""
    return card.customer_id == customer.pk and card.is_credit and card.account.customer_id == customer.pk


def statement_list_for_card(*, customer: Customer, card: Card) -> QuerySet[Statement]:
    """The statements of the card's account issued to ``customer``, newest first (one query, however many)."""
    if not statements_visible(customer=customer, card=card):
        raise Http404
    return _statements().filter(account_id=card.account_id, customer=customer)


def statement_get_for_card(*, customer: Customer, card: Card, statement_id: int) -> Statement:
    """One statement of the card's account, issued to ``customer``; anything else is a 404."""
    statement = statement_list_for_card(customer=customer, card=card).filter(pk=statement_id).first()
    if statement is None:
        raise Http404
    return statement


def statement_list_for_staff(*, customer: Customer, scope: BankScope) -> QuerySet[Statement]:
    """The customer's statements the scope may see (a bank's staff: their bank's), newest first, with the account."""
    # The bank names the statement's issuer (its logo's bytes are served by their own URL, never read here).
    statements = _statements().filter(customer=customer).select_related("account", "bank").defer("bank__logo")
    return scope.owned(statements).order_by("account__reference", "account_id", "-period_end", "-id")


def statement_get_for_staff(*, customer: Customer, statement_id: int, scope: BankScope) -> Statement | None:
    """One of the customer's statements inside the scope, or None (the view's 404)."""
    return statement_list_for_staff(customer=customer, scope=scope).filter(pk=statement_id).first()


def statement_is_correctable(*, statement: Statement) -> bool:
    """Whether ``statement`` is its account's latest, not corrected yet: the only one a correction may replace."""
    latest = latest_statement(statement.account)
    return latest is not None and latest.pk == statement.pk
