"""A processor key, funded active cards and authorization bodies: the data of bench/authorizations.py and of the
fault tests (tests/faults/), which send real traffic to a real server."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# Polish merchants with their real category codes: groceries, fuel, a pharmacy, a restaurant.
MERCHANTS = [
    {"name": "Biedronka 1234", "city": "Białystok", "country": "PL", "mcc": "5411"},
    {"name": "Orlen Stacja 88", "city": "Łomża", "country": "PL", "mcc": "5541"},
    {"name": "Apteka Pod Orłem", "city": "Suwałki", "country": "PL", "mcc": "5912"},
    {"name": "Bar Mleczny Smak", "city": "Augustów", "country": "PL", "mcc": "5812"},
]


def make_fixtures(cards: int, name: str = "bench processor") -> dict[str, Any]:
    """Create ``cards`` active debit cards with high limits and funds, and a processor API key."""
    from kartosfera.api.models import ApiScope
    from kartosfera.api.services import api_key_create
    from kartosfera.cards.operations_services import card_activate
    from kartosfera.core.audit import Actor
    from kartosfera.processing.conversion import conversion_rate_set
    from kartosfera.testing import factories

    system = Actor.system("bench")
    _, token = api_key_create(actor=system, name=name, scopes=[ApiScope.PROCESSOR])
    # The bank's EUR/PLN rate, which the PSD2 ceilings are converted at (a bank provisions its rates).
    conversion_rate_set(actor=system, from_currency="EUR", to_currency="PLN", rate=Decimal("4.2850"))
    high = 1_000_000_00  # a million złoty a day: the benchmark measures approvals, not limit declines
    product = factories.product_factory(
        name="Visa Debit Bench",
        cash_limit_max_minor=high,
        noncash_limit_max_minor=high,
        internet_limit_max_minor=high,
        cash_limit_default_minor=high,
        noncash_limit_default_minor=high,
        internet_limit_default_minor=high,
    )
    made: list[dict[str, str]] = []
    for _ in range(cards):
        customer = factories.customer_factory()
        # Funds and limits high enough that the benchmark measures approvals, not declines.
        account = factories.account_factory(customer=customer, balance_minor=10_000_000_00)
        pan = factories.make_pan("400000", len(made) + 1)
        issued = factories.card_factory(customer=customer, product=product, pan=pan, account=account)
        card = card_activate(actor=system, card=issued)
        made.append({"pan": pan, "expiry": f"{card.expiry:%Y-%m}"})
    return {"token": token, "cards": made}


def authorization_body(card: dict[str, str], unique: str, n: int) -> dict[str, Any]:
    """A chip payment of 1.00-10.99 PLN at one of the merchants: small enough never to reach a limit."""
    return {
        "id": f"bench-{unique}",
        "network_transaction_id": f"ntx-{unique}",
        "card": {"pan": card["pan"], "expiry": card["expiry"]},
        "amount_minor": 100 + (n % 1000),
        "currency": "PLN",
        "merchant": MERCHANTS[n % len(MERCHANTS)],
        "channel": "pos_chip",
    }
