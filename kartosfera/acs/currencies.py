"""ISO 4217 numeric currency codes (the AReq's ``purchaseCurrency``) of the currencies the ACS values by name.

Any 3-digit code is a valid AReq; only these have a known exponent (checked against ``purchaseExponent``) and an
alphabetic code. The low-value exemption needs the payment in PLN or EUR (processing/exemptions.py values it).
"""

from __future__ import annotations

NUMERIC_TO_ALPHA: dict[str, str] = {
    "985": "PLN",
    "978": "EUR",
    "840": "USD",
    "826": "GBP",
    "756": "CHF",
    "203": "CZK",
    "752": "SEK",
    "578": "NOK",
    "208": "DKK",
    "348": "HUF",
    "392": "JPY",
}
ALPHA_TO_NUMERIC = {alpha: numeric for numeric, alpha in NUMERIC_TO_ALPHA.items()}
EXPONENTS: dict[str, int] = {**dict.fromkeys(NUMERIC_TO_ALPHA, 2), "392": 0}


def numeric_of(currency: str) -> str | None:
    """``currency`` (numeric or alphabetic) as its numeric code; None for an alphabetic code not listed."""
    if currency.isdigit() and len(currency) == 3:
        return currency
    return ALPHA_TO_NUMERIC.get(currency.upper())
