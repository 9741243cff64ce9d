"""Reading banks and branches."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404

from kartosfera.banks.models import Bank, Branch


def bank_get_by_code(*, code: str) -> Bank | None:
    return Bank.objects.filter(code=code).first()


def bank_list() -> QuerySet[Bank]:
    return Bank.objects.order_by("short_name", "code")


def branch_list(*, bank: Bank) -> QuerySet[Branch]:
    return Branch.objects.filter(bank=bank).order_by("city", "name", "pk")


def default_bank() -> Bank | None:
    """The bank that today's single-bank data moved under (migration banks 0001): settings.DEFAULT_BANK_CODE."""
    return bank_get_by_code(code=str(settings.DEFAULT_BANK_CODE))


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
