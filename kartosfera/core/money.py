"""Money as integer minor units plus an ISO 4217 currency code. Never float.

``Money.format`` is the one way an amount is written, on pages, in forms, on the
confirmation page and in text messages (docs/sms.md, "Amounts").
"""

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


def _polish() -> bool:
    return (get_language() or "pl").startswith("pl")


def currency_label(currency: str, *, sms: bool = False) -> str:
    """How an amount names its currency: "zł" on a Polish page; the ISO code in English and in every SMS.

    An SMS says "PLN", as Polish banks' messages do: "ł" is not in the GSM-7
    alphabet, and "zl" reads as a typo.
    """
    if not sms and _polish():
        return _POLISH_SYMBOLS[currency]
    return currency


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

    def format_number(self, *, sms: bool = False) -> str:
        """The number alone, localized and grouped: "1 234,56" in Polish, "1,234.56" in English (form fields)."""
        digits = MINOR_UNITS[Currency(self.currency)]
        number = number_format(self.amount, decimal_pos=digits, use_l10n=True, force_grouping=True)
        # The Polish group separator is a no-break space, which GSM-7 lacks.
        return number.replace("\xa0", " ").replace("\u202f", " ") if sms else number

    def format(self, *, sms: bool = False) -> str:
        """Localized: "1 234,56 zł" in Polish, "PLN 1,234.56" in English; ``sms``: "1 234,56 PLN", plain spaces."""
        number = self.format_number(sms=sms)
        label = currency_label(self.currency, sms=sms)
        space = " " if sms else "\xa0"
        return f"{number}{space}{label}" if _polish() else f"{label}{space}{number}"

    def __str__(self) -> str:
        return self.format()


# Currencies whose minor unit is not the cent (ISO 4217): a card is used in any currency,
# while accounts are only in ``Currency``.
_FOREIGN_MINOR_UNITS = {
    **dict.fromkeys(("JPY", "KRW", "ISK", "CLP", "VND"), 0),
    **dict.fromkeys(("BHD", "KWD", "JOD", "OMR", "TND"), 3),
}


def format_amount(minor: int, currency: str, *, exponent: int | None = None) -> str:
    """Any ISO 4217 amount, localized like ``Money.format`` ("12,50 USD" in Polish, "USD 12.50" in English).

    ``exponent``: the minor unit's, when the message gave it (a 3-D Secure AReq's purchaseExponent) for a
    currency not known here by name (its numeric code).
    """
    if currency in Currency.values:
        return Money(minor, currency).format()
    digits = exponent if exponent is not None else _FOREIGN_MINOR_UNITS.get(currency, 2)
    number = number_format(Decimal(minor).scaleb(-digits), decimal_pos=digits, use_l10n=True, force_grouping=True)
    return f"{number}\xa0{currency}" if _polish() else f"{currency}\xa0{number}"


def format_decimal(value: Decimal, *, places: int) -> str:
    """A number that is not an amount (a conversion rate, a percentage), as the active language writes it.

    "4,2350" and "1,18" in Polish, "4.2350" and "1.18" in English; never grouped, so that a rate
    reads as one number.
    """
    return number_format(value, decimal_pos=places, use_l10n=True)
