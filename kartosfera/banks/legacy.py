"""Moving the data of the single-bank Kartosfera under one bank (the migrations of 2026-11 call this).

Kept as a plain function of the historical app registry, so that the migrations stay runnable when the
models change later. A database with no customers, accounts, products or staff gets no bank from it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def default_bank(apps: Any) -> Any:
    """The bank today's rows move under: settings.DEFAULT_BANK_CODE, created on first need."""
    bank_model = apps.get_model("banks", "Bank")
    bank, _ = bank_model.objects.get_or_create(
        code=settings.DEFAULT_BANK_CODE, defaults={"name": "Bank", "short_name": "Bank"}
    )
    return bank
