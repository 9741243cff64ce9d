"""Demo merchants and the demo exchange rate, shared by the development terminal and the traffic simulator.

Real merchant category codes (ISO 18245): the card core's hold lifetimes and the
research's tables key on them. Development data only: nothing in production reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# The demo's fixed EUR → PLN rate (a scheme sends its own rate with every converted payment).
DEMO_EUR_PLN = Decimal("4.2850")


@dataclass(frozen=True)
class DemoMerchant:
    key: str
    name: str
    city: str
    country: str
    mcc: str
    currency: str
    # Typical amounts in minor units (the simulator draws between them).
    low_minor: int
    high_minor: int
    online: bool = False
    atm: bool = False
    # Hotels and fuel pumps send incremental authorizations.
    incremental: bool = False


MERCHANTS: tuple[DemoMerchant, ...] = (
    DemoMerchant("biedronka", "Biedronka", "Warszawa", "PL", "5411", "PLN", 800, 25_000),
    DemoMerchant("zabka", "Żabka", "Kraków", "PL", "5499", "PLN", 400, 6_000),
    DemoMerchant("rossmann", "Rossmann", "Łódź", "PL", "5912", "PLN", 1_500, 15_000),
    DemoMerchant("empik", "Empik", "Warszawa", "PL", "5942", "PLN", 2_000, 20_000),
    DemoMerchant("pierogarnia", "Pierogarnia Stary Młyn", "Gdańsk", "PL", "5812", "PLN", 3_000, 18_000),
    DemoMerchant("orlen", "Orlen Stacja 4321", "Poznań", "PL", "5542", "PLN", 10_000, 30_000, incremental=True),
    DemoMerchant("pkp", "PKP Intercity", "Warszawa", "PL", "4112", "PLN", 3_000, 25_000, online=True),
    DemoMerchant("allegro", "Allegro.pl", "Poznań", "PL", "5399", "PLN", 2_000, 30_000, online=True),
    DemoMerchant("hotel_krakow", "Hotel Wawel", "Kraków", "PL", "7011", "PLN", 30_000, 90_000, incremental=True),
    DemoMerchant("atm_warszawa", "Bankomat Euronet", "Warszawa", "PL", "6011", "PLN", 5_000, 80_000, atm=True),
    DemoMerchant("lidl_berlin", "Lidl", "Berlin", "DE", "5411", "EUR", 500, 8_000),
    DemoMerchant("carrefour_paris", "Carrefour City", "Paris", "FR", "5411", "EUR", 500, 6_000),
    DemoMerchant("shell_wien", "Shell", "Wien", "AT", "5541", "EUR", 3_000, 9_000, incremental=True),
    DemoMerchant("hotel_praha", "Hotel Aria", "Praha", "CZ", "7011", "EUR", 12_000, 40_000, incremental=True),
    DemoMerchant("booking", "Booking.com", "Amsterdam", "NL", "4722", "EUR", 4_000, 25_000, online=True),
    DemoMerchant("spotify", "Spotify", "Stockholm", "SE", "5815", "EUR", 599, 1_799, online=True),
    DemoMerchant("atm_berlin", "Sparkasse Geldautomat", "Berlin", "DE", "6011", "EUR", 5_000, 30_000, atm=True),
)
MERCHANTS_BY_KEY = {merchant.key: merchant for merchant in MERCHANTS}


def demo_billing(amount_minor: int, currency: str, account_currency: str) -> tuple[int, Decimal] | None:
    """The billing amount and rate in the account's currency at the demo rate, or None when no conversion."""
    if currency == account_currency:
        return None
    if currency == "EUR" and account_currency == "PLN":
        rate = DEMO_EUR_PLN
    elif currency == "PLN" and account_currency == "EUR":
        rate = (Decimal(1) / DEMO_EUR_PLN).quantize(Decimal("0.000000001"))
    else:  # pragma: no cover - the demo has PLN and EUR only
        raise ValueError(f"no demo rate from {currency} to {account_currency}")
    billing = int((Decimal(amount_minor) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return max(billing, 1), rate
