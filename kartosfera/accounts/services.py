from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.banks.models import Bank
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import Conflict, ValidationFailed
from kartosfera.core.money import Currency, amount_error
from kartosfera.customers.models import Customer
from kartosfera.customers.selectors import is_customer_of

# The balance is not among them: it is set when the account is opened and moved only by postings
# (the card scheme's clearing, the bank's own credits and debits: processing/ledger.py; docs/decisions/0013).
UPDATABLE_FIELDS = ("credit_limit_minor", "billing_day", "iban")


def balance_not_settable_message() -> str:
    return _(
        "The balance cannot be set: it moves only by postings. Send the bank's credit or debit "
        "as an account posting (POST /accounts/{reference}/postings)."
    )


def _audit_view(account: Account) -> dict[str, Any]:
    return {
        "kind": account.kind,
        "currency": account.currency,
        "balance_minor": account.balance_minor,
        "credit_limit_minor": account.credit_limit_minor,
        "billing_day": account.billing_day,
        "iban": account.iban,
    }


def _check_terms(*, kind: str, balance_minor: int, credit_limit_minor: int | None, billing_day: int | None) -> None:
    errors: dict[str, str] = {}
    if balance_error := amount_error(balance_minor, signed=True):
        errors["balance_minor"] = balance_error
    if kind == AccountKind.CREDIT:
        if credit_limit_minor is None or credit_limit_minor < 0:
            errors["credit_limit_minor"] = _("A credit account needs a credit limit of zero or more.")
        elif limit_error := amount_error(credit_limit_minor):
            errors["credit_limit_minor"] = limit_error
        if billing_day is None or not 1 <= billing_day <= 28:
            errors["billing_day"] = _("The billing day must be between 1 and 28.")
    else:
        if credit_limit_minor is not None:
            errors["credit_limit_minor"] = _("Only a credit account has a credit limit.")
        if billing_day is not None:
            errors["billing_day"] = _("Only a credit account has a billing day.")
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def account_create(
    *,
    actor: Actor,
    bank: Bank,
    customer: Customer,
    reference: str,
    kind: str,
    currency: str = Currency.PLN,
    iban: str = "",
    balance_minor: int = 0,
    credit_limit_minor: int | None = None,
    billing_day: int | None = None,
    opened_at: dt.datetime | None = None,
) -> Account:
    """Open an account at ``bank`` for one of its customers: a debit account or a credit card account.

    ``opened_at``: when the bank opened it, if before now (an account it brings over from its core system; the
    demo's credit accounts, whose statements go months back). A credit account's first billing period starts then.
    """
    now = timezone.now()
    if opened_at is not None and opened_at > now:
        raise ValidationFailed({"opened_at": _("An account cannot be opened in the future.")})
    if kind not in AccountKind.values:
        raise ValidationFailed({"kind": _("Choose debit or credit.")})
    if currency not in Currency.values:
        raise ValidationFailed({"currency": _("Unsupported currency.")})
    _check_terms(kind=kind, balance_minor=balance_minor, credit_limit_minor=credit_limit_minor, billing_day=billing_day)
    if not is_customer_of(customer=customer, bank=bank):
        raise ValidationFailed({"customer": _("The owner is not a customer of this bank.")})
    if Account.objects.filter(bank=bank, reference=reference).exists():
        raise Conflict(_("An account with this reference already exists."))
    try:
        with transaction.atomic():
            account = Account.objects.create(
                bank=bank,
                customer=customer,
                reference=reference,
                kind=kind,
                currency=currency,
                iban=iban,
                balance_minor=balance_minor,
                opening_balance_minor=balance_minor,
                credit_limit_minor=credit_limit_minor,
                billing_day=billing_day,
                created_at=opened_at or now,
            )
    except IntegrityError:
        raise Conflict(_("An account with this reference already exists.")) from None
    audit_record(
        actor=actor,
        action="accounts.account.created",
        obj=account,
        customer_id=customer.pk,
        after={
            "reference": reference,
            **_audit_view(account),
            **({"opened_at": opened_at.isoformat()} if opened_at is not None else {}),
        },
    )
    return account


@transaction.atomic
def account_update(*, actor: Actor, account: Account, **changes: Any) -> Account:
    """Update the credit limit, billing day or IBAN the bank reports (never the balance: see UPDATABLE_FIELDS)."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            {
                name: balance_not_settable_message() if name == "balance_minor" else _("This field cannot be changed.")
                for name in sorted(unknown)
            }
        )
    # Locked: the card core decides payments against this row.
    account = Account.objects.select_for_update().get(pk=account.pk)
    before = _audit_view(account)
    for name, value in changes.items():
        setattr(account, name, value)
    _check_terms(
        kind=account.kind,
        balance_minor=account.balance_minor,
        credit_limit_minor=account.credit_limit_minor,
        billing_day=account.billing_day,
    )
    after = _audit_view(account)
    changed = {k for k in after if after[k] != before[k]}
    account.save()
    if changed:
        audit_record(
            actor=actor,
            action="accounts.account.updated",
            obj=account,
            customer_id=account.customer_id,
            before={k: before[k] for k in sorted(changed)},
            after={k: after[k] for k in sorted(changed)},
        )
    return account
