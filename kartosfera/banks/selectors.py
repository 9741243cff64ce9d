"""Reading banks and branches."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from kartosfera.banks.models import Bank, Branch


def bank_get_by_code(*, code: str) -> Bank | None:
    return Bank.objects.filter(code=code).first()


def bank_list() -> QuerySet[Bank]:
    return Bank.objects.order_by("short_name", "code")


def branch_list(*, bank: Bank) -> QuerySet[Branch]:
    return Branch.objects.filter(bank=bank).order_by("city", "name", "pk")


def default_bank() -> Bank | None:
    """The bank that today's single-bank data moved under (migration banks 0001): settings.DEFAULT_BANK_CODE."""
    # str(): the settings module's env() is typed str | None, though this one has a default.
    return bank_get_by_code(code=str(settings.DEFAULT_BANK_CODE))
