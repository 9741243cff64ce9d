"""Money as integer minor units plus an ISO 4217 currency code. Never float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.formats import number_format
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Currency(models.TextChoices):
    PLN = "PLN", _("Polish złoty")
    EUR = "EUR", _("Euro")


MINOR_UNITS = {Currency.PLN: 2, Currency.EUR: 2}

# The largest amount Kartosfera stores, in minor units: 10^15 grosze is ten trillion złoty, far
# above any balance, credit limit or card limit a bank provisions. It is small enough that every
# sum the card core makes still fits a signed 64-bit integer (2^63 - 1 ~ 9.22 * 10^18: PostgreSQL's
# bigint, a client's int64): balance + credit limit - holds, or a day's counter adding up to
# 9 000 payments of the largest amount. Checked by the services, the API schema and the database
# (CHECK constraints on every stored amount); docs/api.md, "Money".
MAX_AMOUNT_MINOR = 10**15


def amount_error(value: int, *, signed: bool = False) -> str | None:
    """Why ``value`` (minor units) cannot be stored as an amount, or None when it can."""
    low = -MAX_AMOUNT_MINOR if signed else 0
    if low <= value <= MAX_AMOUNT_MINOR:
        return None
    if signed:
        return str(_("Enter an amount between -%(max)s and %(max)s minor units.") % {"max": MAX_AMOUNT_MINOR})
    return str(_("Enter an amount between 0 and %(max)s minor units.") % {"max": MAX_AMOUNT_MINOR})


_POLISH_SYMBOLS = {"PLN": "zł", "EUR": "EUR"}


@dataclass(frozen=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int of minor units")
        if self.currency not in Currency.values:
            raise ValueError(f"unsupported currency {self.currency!r}")

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-MINOR_UNITS[Currency(self.currency)])

    def format(self) -> str:
        """Localized: "1 234,56 zł" in Polish, "PLN 1,234.56" in English."""
        digits = MINOR_UNITS[Currency(self.currency)]
        number = number_format(self.amount, decimal_pos=digits, use_l10n=True, force_grouping=True)
        if (get_language() or "pl").startswith("pl"):
            return f"{number}\xa0{_POLISH_SYMBOLS[self.currency]}"
        return f"{self.currency}\xa0{number}"

    def __str__(self) -> str:
        return self.format()
