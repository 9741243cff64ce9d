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
