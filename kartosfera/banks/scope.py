"""Which banks' data a staff member or an API key may see: the group's, or one bank's.

Bank secrecy (Prawo bankowe art. 104) makes this a security boundary: every staff and API read of
customers, accounts, cards and their history goes through a ``BankScope`` (docs/banks.md). A bank's
scope sees the customers with a membership in the bank and, of those, only the bank's accounts, cards
and events; what belongs to the person (the portal access, the 3-D Secure profile) is shared by every
bank the person is a customer of. The group's scope sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.db.models import Model, Q, QuerySet

if TYPE_CHECKING:
    from kartosfera.banks.models import Bank

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class BankScope:
    """The group (``bank is None``) or one bank."""

    bank: Bank | None

    @classmethod
    def group(cls) -> BankScope:
        return cls(bank=None)

    @classmethod
    def of(cls, bank: Bank | None) -> BankScope:
        return cls(bank=bank)

    @property
    def is_group(self) -> bool:
        return self.bank is None

    @property
    def bank_id(self) -> int | None:
        return None if self.bank is None else self.bank.pk

    def customers(self, queryset: QuerySet[M]) -> QuerySet[M]:
        """Customers (or a queryset of them) with a membership in the bank."""
        if self.bank is None:
            return queryset
        # One membership per bank and customer (customers.BankMembership), so the join repeats no row.
        return queryset.filter(memberships__bank_id=self.bank.pk)

    def owned(self, queryset: QuerySet[M], field: str = "bank_id") -> QuerySet[M]:
        """Rows that belong to the bank through ``field`` (accounts, products and cards: ``bank_id``)."""
        if self.bank is None:
            return queryset
        return queryset.filter(**{field: self.bank.pk})

    def events(self, queryset: QuerySet[M]) -> QuerySet[M]:
        """Audit events the bank may read: its own and the person's shared ones (no bank)."""
        if self.bank is None:
            return queryset
        return queryset.filter(Q(bank_id=self.bank.pk) | Q(bank_id__isnull=True))

    def allows(self, bank_id: int | None) -> bool:
        """Whether an object of ``bank_id`` (None: shared by the person's banks) is inside the scope."""
        return self.bank is None or bank_id is None or bank_id == self.bank.pk
