"""Merchant category codes (ISO 18245) in words, for the card history (PL/EN), and their stable keys.

Only the common codes have a name; the ranges the schemes give to airlines, car
rental and hotels (3000-3999, one code per brand) map to their category; any
other code is "Other purchases (MCC nnnn)", never a bare number.

Each category also has a key (a slug that never changes with the language or a
renamed label): the spending chart groups by it and styles its bar by it
(docs/spending.md); every code without a category has the key ``OTHER``.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

GROCERIES = _("Groceries")
RESTAURANTS = _("Restaurants and cafés")
FUEL = _("Fuel")
CASH = _("Cash withdrawal")
HEALTH = _("Health and pharmacy")
SHOPPING = _("Shopping")
ELECTRONICS = _("Electronics")
CLOTHING = _("Clothing and shoes")
TRANSPORT = _("Transport")
TRAVEL = _("Flights")
LODGING = _("Hotels and lodging")
CAR_RENTAL = _("Car rental")
BILLS = _("Bills and telecommunications")
DIGITAL = _("Digital goods and subscriptions")
LEISURE = _("Culture and leisure")
HOME = _("Home and garden")
SERVICES = _("Services")
TRANSFERS = _("Money transfers")

# The categories by key, in a fixed order (a category's colour in the spending chart is its position here).
CATEGORIES: dict[str, Promise] = {
    "groceries": GROCERIES,
    "restaurants": RESTAURANTS,
    "fuel": FUEL,
    "cash": CASH,
    "health": HEALTH,
    "shopping": SHOPPING,
    "electronics": ELECTRONICS,
    "clothing": CLOTHING,
    "transport": TRANSPORT,
    "travel": TRAVEL,
    "lodging": LODGING,
    "car-rental": CAR_RENTAL,
    "bills": BILLS,
    "digital": DIGITAL,
    "leisure": LEISURE,
    "home": HOME,
    "services": SERVICES,
    "transfers": TRANSFERS,
}
# Every code without a category of its own (and a posting without a code), as one line of the spending chart.
OTHER = "other"
OTHER_NAME = _("Other purchases")

MCC_CATEGORIES: dict[str, Promise] = {
    "5411": GROCERIES,
    "5422": GROCERIES,
    "5441": GROCERIES,
    "5451": GROCERIES,
    "5462": GROCERIES,
    "5499": GROCERIES,
    "5921": GROCERIES,
    "5812": RESTAURANTS,
    "5813": RESTAURANTS,
    "5814": RESTAURANTS,
    "5541": FUEL,
    "5542": FUEL,
    "5983": FUEL,
    "6010": CASH,
    "6011": CASH,
    "5912": HEALTH,
    "5977": HEALTH,
    "8011": HEALTH,
    "8021": HEALTH,
    "8062": HEALTH,
    "8099": HEALTH,
    "5300": SHOPPING,
    "5310": SHOPPING,
    "5311": SHOPPING,
    "5331": SHOPPING,
    "5399": SHOPPING,
    "5942": SHOPPING,
    "5945": SHOPPING,
    "5999": SHOPPING,
    "5732": ELECTRONICS,
    "5734": ELECTRONICS,
    "5045": ELECTRONICS,
    "5621": CLOTHING,
    "5651": CLOTHING,
    "5655": CLOTHING,
    "5661": CLOTHING,
    "5691": CLOTHING,
    "5699": CLOTHING,
    "4011": TRANSPORT,
    "4111": TRANSPORT,
    "4112": TRANSPORT,
    "4121": TRANSPORT,
    "4131": TRANSPORT,
    "4784": TRANSPORT,
    "7523": TRANSPORT,
    "4511": TRAVEL,
    "4722": TRAVEL,
    "7011": LODGING,
    "4411": LODGING,
    "7512": CAR_RENTAL,
    "4814": BILLS,
    "4899": BILLS,
    "4900": BILLS,
    "5815": DIGITAL,
    "5816": DIGITAL,
    "5817": DIGITAL,
    "5818": DIGITAL,
    "7832": LEISURE,
    "7922": LEISURE,
    "7941": LEISURE,
    "7997": LEISURE,
    "5200": HOME,
    "5211": HOME,
    "5251": HOME,
    "5712": HOME,
    "7230": SERVICES,
    "7299": SERVICES,
    "8220": SERVICES,
    "8398": SERVICES,
    "4829": TRANSFERS,
    "6012": TRANSFERS,
}

# The schemes' per-brand codes: 3000-3350 airlines, 3351-3500 car rental, 3501-3999 hotels.
MCC_RANGES: tuple[tuple[int, int, Promise], ...] = (
    (3000, 3350, TRAVEL),
    (3351, 3500, CAR_RENTAL),
    (3501, 3999, LODGING),
)


_KEY_OF_NAME = {id(name): key for key, name in CATEGORIES.items()}


def mcc_category_key(mcc: str) -> str:
    """The category's stable key (``CATEGORIES``), or ``OTHER`` for a code without one."""
    label = _label(mcc)
    return OTHER if label is None else _KEY_OF_NAME[id(label)]


def category_name(key: str) -> str:
    """A category's name by its key, in the active language (``OTHER``: "Other purchases")."""
    return str(CATEGORIES.get(key, OTHER_NAME))


def _label(mcc: str) -> Promise | None:
    label = MCC_CATEGORIES.get(mcc)
    if label is None and mcc.isdigit():
        label = next((name for low, high, name in MCC_RANGES if low <= int(mcc) <= high), None)
    return label


def mcc_category(mcc: str) -> str:
    """The merchant's category in words, in the active language."""
    label = _label(mcc)
    if label is not None:
        return str(label)
    return gettext("Other purchases (MCC %(mcc)s)") % {"mcc": mcc}
