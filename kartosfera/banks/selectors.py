"""Reading banks and branches."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from kartosfera.banks.models import Bank, Branch
from kartosfera.core.helpline import Helpline, helpline


def bank_get_by_code(*, code: str) -> Bank | None:
    return Bank.objects.filter(code=code).first()


def bank_list() -> QuerySet[Bank]:
    return Bank.objects.order_by("short_name", "code")


def branch_list(*, bank: Bank) -> QuerySet[Branch]:
    return Branch.objects.filter(bank=bank).order_by("city", "name", "pk")


def bank_logo_get(*, code: str, digest: str) -> Bank:
    """The bank whose current logo has this digest, with only the logo loaded; else 404 (an old or unknown one)."""
    bank = (
        Bank.objects.filter(code=code, logo_digest=digest, logo__isnull=False)
        .only("code", "logo", "logo_content_type", "logo_digest")
        .first()
    )
    if bank is None or not digest:
        raise Http404
    return bank


@dataclass(frozen=True)
class BankContact:
    """How a cardholder reaches one bank: its helplines (the group's where it has none) and its branches."""

    bank: Bank
    numbers: Helpline
    branches: list[Branch]


def bank_contact(*, bank: Bank) -> BankContact:
    """The bank's helplines and branches (one query, for the branches)."""
    return BankContact(bank=bank, numbers=helpline(bank), branches=list(branch_list(bank=bank)))


def bank_contacts_for_customer(*, customer_id: int) -> list[BankContact]:
    """The helplines and branches of every bank the person is a customer of, in two queries."""
    banks = (
        Bank.objects.filter(memberships__customer_id=customer_id)
        .defer("logo")
        .prefetch_related(Prefetch("branches", queryset=Branch.objects.order_by("city", "name", "pk")))
        # One membership per person and bank (customers.BankMembership): the join repeats no bank.
        .order_by("short_name", "code")
    )
    return [BankContact(bank=bank, numbers=helpline(bank), branches=list(bank.branches.all())) for bank in banks]


def bank_only_one_for_customer(*, customer_id: int) -> Bank | None:
    """The person's bank if they are the customer of exactly one; None for several or none (the group speaks)."""
    banks = list(Bank.objects.filter(memberships__customer_id=customer_id).defer("logo").order_by("pk")[:2])
    return banks[0] if len(banks) == 1 else None


def bank_colours() -> list[tuple[str, str]]:
    """(code, brand colour) of every bank that has a colour, by code (one query)."""
    return list(Bank.objects.exclude(brand_colour="").order_by("code").values_list("code", "brand_colour"))
