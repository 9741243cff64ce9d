"""The demo banks: who their customers are, and loading them through the same services the API uses.

Three cooperative banks of the group (demo/banks.py); most customers are BS Demowo's, a few are
BS Wzorowo's or BS Próbkowice's, and one person holds cards of two banks. Everything has a stable
``DEMO-…`` reference and is looked up by it before it is created, so loading twice changes nothing.
Dates are relative to today, so the demo stays meaningful however long after this was written it is loaded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.accounts.services import account_create
from kartosfera.banks.models import Bank
from kartosfera.cards.controls_services import card_controls_change, control_settings_of
from kartosfera.cards.credit_terms import credit_terms_set
from kartosfera.cards.models import Brand, Card, CardProduct, CreditTerms, Funding, Segment
from kartosfera.cards.operations import Operation, operation_allowed
from kartosfera.cards.operations_services import card_limits_change, card_pin_change
from kartosfera.cards.pin import pin_check, pin_verification_values, threeds_pin_verification_values
from kartosfera.cards.services import card_issue, card_product_create, card_renew, card_replace, card_transition
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.errors import Conflict, DomainError
from kartosfera.core.money import Currency
from kartosfera.customers.models import BankMembership, Customer, Residency
from kartosfera.customers.services import customer_create
from kartosfera.demo.banks import (
    BANKS,
    DEMO_ACTOR,
    DEMOWO,
    PROBKOWICE,
    WZOROWO,
    BankLoadCounts,
    demo_bank_load_one,
)
from kartosfera.demo.identifiers import MASTERCARD_TEST_PREFIX, VISA_TEST_PREFIX, make_iban, make_pan, make_pesel
from kartosfera.processing.cbpr2 import ecb_rates_set
from kartosfera.processing.conversion import conversion_rate_set
from kartosfera.processing.merchants import DEMO_EUR_PLN
from kartosfera.processing.models import ConversionRate, EcbReferenceRate
from kartosfera.secure3d.services import threeds_pin_set, threeds_pin_values, threeds_profile_get
from kartosfera.users.models import User, UserKind

# Published on purpose: the demo prints it. load_demo_bank refuses to run in production.
DEMO_PASSWORD = "Kartosfera-demo"  # noqa: S105
# The PIN every demo card that can have one gets, so that chip and ATM payments at the development
# terminal (/dev/terminal/) work before anybody sets a PIN in the portal. Printed with the logins;
# it passes the trivial-PIN rules for every demo card (checked as it is set).
DEMO_CARD_PIN = "2468"
# The 3-D Secure PIN every demo customer without one gets, so that a demo holder can pass a 3-D Secure
# challenge (the development shop, the traffic simulator's holders) before anybody sets one in the portal:
# without it every internet payment the ACS challenges is soft-declined. Printed with the logins; not the card
# PIN (the portal refuses a 3-D Secure PIN equal to a card's PIN).
DEMO_THREEDS_PIN = "7391"
# Where the demo serves: scripts/demo.sh runs runserver on 127.0.0.1:$DEMO_PORT (8000 by default)
# and passes the same port to load_demo_bank, so that every printed address is one that works.
DEMO_HOST = "127.0.0.1"
DEFAULT_DEMO_PORT = 8000
CUSTOMER_PREFIX = "DEMO-CIF-"
# How far back the demo's credit accounts were opened, and so how many days of card traffic scripts/demo.sh plays
# (simulate_card_traffic --days): any 93 days hold three statement dates of every billing day (1-28), so every
# credit account starts the demo with at least three closed statements, each with a full cycle of traffic but the
# first (docs/statements.md, "The demo").
DEMO_HISTORY_DAYS = 95
PRODUCT_PREFIX = "DEMO-"


def demo_url(path: str = "/", *, port: int = DEFAULT_DEMO_PORT) -> str:
    """The demo's address of ``path`` (an absolute path such as ``reverse()`` returns)."""
    return f"http://{DEMO_HOST}:{port}{path}"


def customer_reference(number: int) -> str:
    return f"{CUSTOMER_PREFIX}{number:04d}"


def account_reference(number: int) -> str:
    return f"DEMO-ACC-{number:04d}"


def card_reference(number: int) -> str:
    return f"DEMO-CARD-{number:04d}"


def _zl(units: int) -> int:
    """Whole currency units (złoty, euro) in minor units."""
    return units * 100


@dataclass(frozen=True)
class ProductSpec:
    bank: str
    code: str
    name: str
    brand: str
    funding: str
    segment: str
    cash_max: int
    noncash_max: int
    internet_max: int
    cash_default: int
    noncash_default: int
    internet_default: int = 0
    contactless_capable: bool = True
    currency: str = Currency.PLN
    validity_months: int = 48
    # A credit product's terms (cards/credit_terms.py: TERMS_FIELDS), as the bank provisions them.
    credit_terms: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class AccountSpec:
    number: int
    kind: str
    balance_minor: int  # at the opening
    currency: str = Currency.PLN
    credit_limit_minor: int | None = None
    billing_day: int | None = None
    bank: str | None = None  # None: the customer's (first) bank
    # Opened this many days before today (midnight in Warsaw); 0: when the demo is loaded.
    opened_days_ago: int = 0


@dataclass(frozen=True)
class CardSpec:
    number: int
    product: str
    account: int
    status: str = CardStatus.ACTIVE
    reason: str | None = None
    issued_months_ago: int = 0
    renews: int | None = None
    replaces: int | None = None
    bank: str | None = None  # None: the customer's (first) bank; the product and the account are this bank's
    # The internet limit (zł) the holder opened in the portal: a product's default is 0 (internet payments off),
    # and the demo's online payments (the development shop, the simulated traffic) need some cards to have one.
    internet_limit: int | None = None
    # Merchant categories the holder blocked on the controls page (cards/merchant_categories.py).
    blocked_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerSpec:
    number: int
    first_name: str
    last_name: str
    female: bool
    birth_date: dt.date
    phone: str | None
    nonresident_id: str | None = None
    registered: bool = True
    login: str | None = None
    accounts: tuple[AccountSpec, ...] = ()
    cards: tuple[CardSpec, ...] = ()
    # The bank that first knew the person (its number is customer_reference(number)), and the other
    # banks of the group the person is also a customer of, each with the number that bank gave.
    bank: str = DEMOWO
    also_at: tuple[tuple[str, str], ...] = ()


VISA_CLASSIC = "DEMO-VISA-CLASSIC"
MC_DEBIT = "DEMO-MC-DEBIT"
VISA_GOLD = "DEMO-VISA-GOLD"
MC_CREDIT = "DEMO-MC-CREDIT"
MC_BUSINESS = "DEMO-MC-BUSINESS"
VISA_ELECTRON = "DEMO-VISA-ELECTRON"
VISA_EUR = "DEMO-VISA-EUR"
# The other two banks' own products (a product code is unique per bank only).
WZ_VISA_DEBIT = "WZ-VISA-DEBIT"
WZ_MC_GOLD = "WZ-MC-GOLD"
PR_MC_DEBIT = "PR-MC-DEBIT"


def _terms(
    rate: str, grace_days: int, minimum: str, minimum_zl: int, cash: str, cash_min_zl: int, fx: str
) -> tuple[tuple[str, object], ...]:
    """A credit product's terms: percentages as written in its price list, amounts in whole złoty."""
    return (
        ("interest_rate_percent", Decimal(rate)),
        ("grace_period_days", grace_days),
        ("minimum_payment_percent", Decimal(minimum)),
        ("minimum_payment_minor", _zl(minimum_zl)),
        ("cash_withdrawal_fee_percent", Decimal(cash)),
        ("cash_withdrawal_fee_min_minor", _zl(cash_min_zl)),
        ("fx_markup_percent", Decimal(fx)),
    )


PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec(DEMOWO, VISA_CLASSIC, "Visa Classic Debit", Brand.VISA, Funding.DEBIT, Segment.INDIVIDUAL,
                cash_max=10_000, noncash_max=30_000, internet_max=30_000, cash_default=2_000, noncash_default=5_000),
    ProductSpec(DEMOWO, MC_DEBIT, "Mastercard Debit", Brand.MASTERCARD, Funding.DEBIT, Segment.INDIVIDUAL,
                cash_max=10_000, noncash_max=30_000, internet_max=30_000, cash_default=2_000, noncash_default=5_000),
    ProductSpec(DEMOWO, VISA_GOLD, "Visa Gold Credit", Brand.VISA, Funding.CREDIT, Segment.INDIVIDUAL,
                cash_max=10_000, noncash_max=30_000, internet_max=30_000, cash_default=2_000, noncash_default=10_000,
                validity_months=36, credit_terms=_terms("16.90", 25, "3.00", 50, "3.00", 10, "2.00")),
    ProductSpec(DEMOWO, MC_CREDIT, "Mastercard Standard Credit", Brand.MASTERCARD, Funding.CREDIT, Segment.INDIVIDUAL,
                cash_max=5_000, noncash_max=20_000, internet_max=20_000, cash_default=1_000, noncash_default=5_000,
                validity_months=36, credit_terms=_terms("18.50", 24, "5.00", 50, "4.00", 12, "3.00")),
    # Business limits are set by the company at issue and are read-only for the
    # holder, so a zero internet default would bar them from paying online.
    ProductSpec(DEMOWO, MC_BUSINESS, "Mastercard Business Debit", Brand.MASTERCARD, Funding.DEBIT, Segment.BUSINESS,
                cash_max=20_000, noncash_max=50_000, internet_max=50_000, cash_default=5_000,
                noncash_default=20_000, internet_default=5_000),
    ProductSpec(DEMOWO, VISA_ELECTRON, "Visa Electron", Brand.VISA, Funding.DEBIT, Segment.INDIVIDUAL,
                cash_max=5_000, noncash_max=10_000, internet_max=10_000, cash_default=1_000, noncash_default=2_000,
                contactless_capable=False),
    ProductSpec(DEMOWO, VISA_EUR, "Visa Debit EUR", Brand.VISA, Funding.DEBIT, Segment.INDIVIDUAL,
                cash_max=2_500, noncash_max=7_500, internet_max=7_500, cash_default=500, noncash_default=1_500,
                currency=Currency.EUR),
    ProductSpec(WZOROWO, WZ_VISA_DEBIT, "Visa Debit Wzorowo", Brand.VISA, Funding.DEBIT, Segment.INDIVIDUAL,
                cash_max=8_000, noncash_max=25_000, internet_max=25_000, cash_default=2_000, noncash_default=4_000),
    ProductSpec(WZOROWO, WZ_MC_GOLD, "Mastercard Gold Wzorowo", Brand.MASTERCARD, Funding.CREDIT,
                Segment.INDIVIDUAL, cash_max=5_000, noncash_max=25_000, internet_max=25_000, cash_default=1_000,
                noncash_default=8_000, validity_months=36,
                credit_terms=_terms("17.20", 25, "3.00", 40, "3.00", 10, "2.50")),
    ProductSpec(PROBKOWICE, PR_MC_DEBIT, "Mastercard Debit Próbkowice", Brand.MASTERCARD, Funding.DEBIT,
                Segment.INDIVIDUAL, cash_max=6_000, noncash_max=20_000, internet_max=20_000, cash_default=1_500,
                noncash_default=4_000),
)  # fmt: skip

DEBIT, CREDIT = AccountKind.DEBIT, AccountKind.CREDIT
ACTIVE, INACTIVE, BLOCKED, CANCELLED = CardStatus.ACTIVE, CardStatus.INACTIVE, CardStatus.BLOCKED, CardStatus.CANCELLED


def _credit_account(number: int, balance_minor: int, *, limit: int, billing_day: int) -> AccountSpec:
    """A credit card account opened DEMO_HISTORY_DAYS ago, with its limit in whole złoty."""
    return AccountSpec(
        number,
        CREDIT,
        balance_minor,
        credit_limit_minor=_zl(limit),
        billing_day=billing_day,
        opened_days_ago=DEMO_HISTORY_DAYS,
    )


CUSTOMERS: tuple[CustomerSpec, ...] = (
    # A customer of two banks of the group: one person, one portal login, a number at each bank, and
    # each bank's own account and card.
    CustomerSpec(1, "Anna", "Kowalska", True, dt.date(1987, 4, 12), "+48601234518", login="anna.kowalska",
                 also_at=((WZOROWO, "WZ-000417"),),
                 accounts=(AccountSpec(1, DEBIT, 845_217),
                           _credit_account(2, -123_640, limit=10_000, billing_day=10),
                           AccountSpec(30, DEBIT, 152_400, bank=WZOROWO)),
                 cards=(CardSpec(1, VISA_CLASSIC, 1, issued_months_ago=14, internet_limit=2_000),
                        CardSpec(2, VISA_GOLD, 2, issued_months_ago=8, internet_limit=3_000,
                                 blocked_categories=("gambling",)),
                        CardSpec(34, WZ_VISA_DEBIT, 30, bank=WZOROWO, issued_months_ago=2, internet_limit=1_000))),
    CustomerSpec(2, "Łukasz", "Wiśniewski", False, dt.date(1979, 11, 23), "+48502117340",
                 accounts=(AccountSpec(3, DEBIT, 231_055),),
                 cards=(CardSpec(3, MC_DEBIT, 3, BLOCKED, StatusReason.BLOCKED_BY_CUSTOMER, issued_months_ago=20),)),
    CustomerSpec(3, "Żaneta", "Wójcik", True, dt.date(1996, 7, 21), "+48693402115",
                 accounts=(AccountSpec(4, DEBIT, 120_499),),
                 cards=(CardSpec(4, VISA_CLASSIC, 4, INACTIVE),)),
    # The owner of a firm: account 5 is the company's, and his employee Marek
    # Grabowski holds a business card on it too.
    CustomerSpec(4, "Grzegorz", "Dąbrowski", False, dt.date(1968, 5, 9), "+48604555821",
                 accounts=(AccountSpec(5, DEBIT, 4_891_230), AccountSpec(6, DEBIT, 612_000)),
                 cards=(CardSpec(5, MC_BUSINESS, 5, issued_months_ago=11),
                        CardSpec(6, MC_DEBIT, 6, issued_months_ago=25))),
    CustomerSpec(5, "Małgorzata", "Lewandowska", True, dt.date(1974, 12, 30), "+48512908446",
                 accounts=(AccountSpec(7, DEBIT, 387_025),),
                 cards=(CardSpec(7, MC_DEBIT, 7, CANCELLED, StatusReason.LOST, issued_months_ago=30),
                        CardSpec(8, MC_DEBIT, 7, replaces=7))),
    CustomerSpec(6, "Paweł", "Zieliński", False, dt.date(1988, 2, 29), "+48661270934",
                 accounts=(_credit_account(8, -451_280, limit=15_000, billing_day=25),),
                 cards=(CardSpec(9, MC_CREDIT, 8, issued_months_ago=5),)),
    CustomerSpec(7, "Katarzyna", "Szymańska", True, dt.date(1993, 9, 5), "+48727318602",
                 accounts=(AccountSpec(9, DEBIT, 95_000),
                           _credit_account(10, 0, limit=5_000, billing_day=1)),
                 cards=(CardSpec(10, VISA_CLASSIC, 9, issued_months_ago=3),
                        CardSpec(11, VISA_GOLD, 10, BLOCKED, StatusReason.BLOCKED_BY_BANK, issued_months_ago=2))),
    CustomerSpec(8, "Michał", "Woźniak", False, dt.date(2001, 4, 17), "+48789041263",
                 accounts=(AccountSpec(11, DEBIT, 41_237),),
                 cards=(CardSpec(12, VISA_ELECTRON, 11, issued_months_ago=9),)),
    CustomerSpec(9, "Agnieszka", "Kozłowska", True, dt.date(1983, 6, 11), "+48507664129",
                 accounts=(AccountSpec(12, DEBIT, 1_248_000), AccountSpec(13, DEBIT, 125_000, currency=Currency.EUR)),
                 cards=(CardSpec(13, MC_DEBIT, 12, issued_months_ago=17),
                        CardSpec(14, VISA_EUR, 13, issued_months_ago=4))),
    CustomerSpec(10, "Tomasz", "Jankowski", False, dt.date(1971, 10, 23), "+48698223470",
                 accounts=(_credit_account(14, -1_274_409, limit=20_000, billing_day=15),),
                 cards=(CardSpec(15, VISA_GOLD, 14, CANCELLED, StatusReason.STOLEN, issued_months_ago=10),
                        CardSpec(16, VISA_GOLD, 14, replaces=15))),
    CustomerSpec(11, "Magdalena", "Mazur", True, dt.date(1999, 1, 8), "+48530812774",
                 accounts=(AccountSpec(15, DEBIT, 204_560),),
                 cards=(CardSpec(17, MC_DEBIT, 15, issued_months_ago=6),)),
    # His first card expired a year ago (he never activated it); its renewal is active.
    CustomerSpec(12, "Krzysztof", "Kwiatkowski", False, dt.date(1960, 8, 15), "+48605391058",
                 accounts=(AccountSpec(16, DEBIT, 2_130_000),),
                 cards=(CardSpec(18, VISA_CLASSIC, 16, INACTIVE, issued_months_ago=60),
                        CardSpec(19, VISA_CLASSIC, 16, renews=18))),
    CustomerSpec(13, "Joanna", "Krawczyk", True, dt.date(1990, 3, 3), "+48880455236",
                 accounts=(AccountSpec(17, DEBIT, 540_000),),
                 cards=(CardSpec(20, VISA_CLASSIC, 17, issued_months_ago=28),)),
    CustomerSpec(14, "Piotr", "Kaczmarek", False, dt.date(1986, 12, 1), "+48733609182",
                 accounts=(_credit_account(18, -76_000, limit=8_000, billing_day=5),),
                 cards=(CardSpec(21, MC_CREDIT, 18, INACTIVE),)),
    CustomerSpec(15, "Ewa", "Piotrowska", True, dt.date(1956, 5, 27), "+48600718345", registered=False,
                 accounts=(AccountSpec(19, DEBIT, 311_245),),
                 cards=(CardSpec(22, VISA_CLASSIC, 19, issued_months_ago=33),)),
    CustomerSpec(16, "Marek", "Grabowski", False, dt.date(1977, 7, 7), "+48515276803",
                 cards=(CardSpec(23, MC_BUSINESS, 5, issued_months_ago=11),)),
    CustomerSpec(17, "Beata", "Nowakowska", True, dt.date(1981, 11, 19), "+48668940217",
                 accounts=(AccountSpec(20, DEBIT, 780_312),),
                 cards=(CardSpec(24, VISA_CLASSIC, 20, issued_months_ago=19),)),
    CustomerSpec(18, "Jędrzej", "Pawłowski", False, dt.date(2004, 2, 14), "+48572103648",
                 accounts=(AccountSpec(21, DEBIT, 28_640),),
                 cards=(CardSpec(25, MC_DEBIT, 21, issued_months_ago=1),)),
    # No phone on file: registration has to send her to a branch.
    CustomerSpec(19, "Dorota", "Michalska", True, dt.date(1966, 9, 30), None, registered=False,
                 accounts=(AccountSpec(22, DEBIT, 1_564_000),),
                 cards=(CardSpec(26, VISA_CLASSIC, 22, issued_months_ago=22),)),
    CustomerSpec(20, "Wojciech", "Król", False, dt.date(1994, 4, 4), "+48781350926", registered=False,
                 accounts=(AccountSpec(23, DEBIT, 189_999),),
                 cards=(CardSpec(27, MC_DEBIT, 23, INACTIVE),)),
    CustomerSpec(21, "Oksana", "Melnyk", True, dt.date(1991, 8, 19), "+48579204613", nonresident_id="NR00000021",
                 accounts=(AccountSpec(24, DEBIT, 421_580),),
                 cards=(CardSpec(28, VISA_CLASSIC, 24, issued_months_ago=7),)),
    CustomerSpec(22, "Jürgen", "Schäfer", False, dt.date(1975, 3, 2), "+4915123456789", nonresident_id="NR00000022",
                 registered=False,
                 accounts=(AccountSpec(25, DEBIT, 340_000, currency=Currency.EUR),),
                 cards=(CardSpec(29, VISA_EUR, 25, issued_months_ago=12),)),
    # BS Wzorowo's and BS Próbkowice's own customers.
    CustomerSpec(23, "Stanisław", "Wróbel", False, dt.date(1969, 3, 14), "+48609112473", bank=WZOROWO,
                 accounts=(AccountSpec(26, DEBIT, 512_300),),
                 cards=(CardSpec(30, WZ_VISA_DEBIT, 26, issued_months_ago=10),)),
    CustomerSpec(24, "Zofia", "Adamczyk", True, dt.date(1985, 10, 2), "+48501339824", bank=WZOROWO,
                 accounts=(_credit_account(27, -52_300, limit=6_000, billing_day=20),),
                 cards=(CardSpec(31, WZ_MC_GOLD, 27, issued_months_ago=4),)),
    CustomerSpec(25, "Henryk", "Sikora", False, dt.date(1958, 1, 26), "+48604781290", bank=PROBKOWICE,
                 accounts=(AccountSpec(28, DEBIT, 905_000),),
                 cards=(CardSpec(32, PR_MC_DEBIT, 28, issued_months_ago=15),)),
    CustomerSpec(26, "Natalia", "Baran", True, dt.date(2000, 6, 18), "+48532604117", bank=PROBKOWICE,
                 accounts=(AccountSpec(29, DEBIT, 64_900),),
                 cards=(CardSpec(33, PR_MC_DEBIT, 29, INACTIVE),)),
)  # fmt: skip


@dataclass
class LoadCounts:
    """How many objects of each kind one load created."""

    banks: int = 0
    branches: int = 0
    logos: int = 0
    memberships: int = 0
    products: int = 0
    customers: int = 0
    accounts: int = 0
    cards: int = 0
    users: int = 0
    pins: int = 0
    threeds_pins: int = 0
    reference_rates: int = 0
    credit_terms: int = 0
    devices: int = 0
    tokens: int = 0

    @property
    def total(self) -> int:
        return (
            self.banks
            + self.branches
            + self.logos
            + self.memberships
            + self.products
            + self.customers
            + self.accounts
            + self.cards
            + self.users
            + self.pins
            + self.threeds_pins
            + self.reference_rates
            + self.credit_terms
            + self.devices
            + self.tokens
        )


def embossed_name(first_name: str, last_name: str) -> str:
    """The name as a card embosser prints it: Latin capitals without diacritics, at most 26."""
    text = f"{first_name} {last_name}".replace("Ł", "L").replace("ł", "l").replace("ß", "ss")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ascii_text.upper()[:26]


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def _pan(spec: CardSpec, product: CardProduct) -> str:
    prefix = VISA_TEST_PREFIX if product.brand == Brand.VISA else MASTERCARD_TEST_PREFIX
    return make_pan(prefix, 500_000 + spec.number)


def _load_banks(counts: LoadCounts) -> dict[str, Bank]:
    bank_counts = BankLoadCounts()
    banks = {spec.code: demo_bank_load_one(spec, bank_counts) for spec in BANKS}
    counts.banks, counts.branches, counts.logos = bank_counts.banks, bank_counts.branches, bank_counts.logos
    return banks


def _load_product(spec: ProductSpec, bank: Bank, counts: LoadCounts) -> CardProduct:
    product = CardProduct.objects.filter(bank=bank, code=spec.code).first()
    if product is None:
        counts.products += 1
        product = _product_create(spec, bank)
    # A demo bank loaded before the products had terms gets them now; terms the bank changed since stay.
    if spec.credit_terms and not CreditTerms.objects.filter(product=product).exists():
        counts.credit_terms += 1
        credit_terms_set(actor=DEMO_ACTOR, product=product, **dict(spec.credit_terms))
    return product


def _product_create(spec: ProductSpec, bank: Bank) -> CardProduct:
    return card_product_create(
        actor=DEMO_ACTOR,
        bank=bank,
        code=spec.code,
        name=spec.name,
        brand=spec.brand,
        funding=spec.funding,
        segment=spec.segment,
        contactless_capable=spec.contactless_capable,
        currency=spec.currency,
        validity_months=spec.validity_months,
        cash_limit_max_minor=_zl(spec.cash_max),
        noncash_limit_max_minor=_zl(spec.noncash_max),
        internet_limit_max_minor=_zl(spec.internet_max),
        cash_limit_default_minor=_zl(spec.cash_default),
        noncash_limit_default_minor=_zl(spec.noncash_default),
        internet_limit_default_minor=_zl(spec.internet_default),
    )


def _demo_pesel(spec: CustomerSpec) -> str:
    return make_pesel(spec.birth_date, 271 * spec.number, female=spec.female)


def _load_customer(spec: CustomerSpec, banks: dict[str, Bank], counts: LoadCounts) -> Customer:
    reference = customer_reference(spec.number)
    customer = Customer.objects.filter(reference=reference).first()
    if customer is None:
        # customer_create would make a person the group already knows a customer of the demo bank too,
        # and give that person the demo's names and phone: never a real person's data.
        if spec.nonresident_id:
            known = Customer.objects.filter(nonresident_id=spec.nonresident_id).exists()
        else:
            known = Customer.objects.filter(pesel=_demo_pesel(spec)).exists()
        if known:
            raise Conflict(_("A customer with this PESEL or identification number already exists."))
        counts.customers += 1
        customer = _customer_create(spec, banks[spec.bank], reference)
    for code, number in spec.also_at:
        if not BankMembership.objects.filter(bank=banks[code], customer=customer).exists():
            # The same person registered by another bank: customer_create adds the bank's membership.
            counts.memberships += 1
            customer = _customer_create(spec, banks[code], number)
    return customer


def _customer_create(spec: CustomerSpec, bank: Bank, reference: str) -> Customer:
    if spec.nonresident_id:
        return customer_create(
            actor=DEMO_ACTOR,
            bank=bank,
            reference=reference,
            residency=Residency.NON_RESIDENT,
            first_name=spec.first_name,
            last_name=spec.last_name,
            nonresident_id=spec.nonresident_id,
            birth_date=spec.birth_date,
            phone_on_file=spec.phone,
        )
    return customer_create(
        actor=DEMO_ACTOR,
        bank=bank,
        reference=reference,
        residency=Residency.RESIDENT,
        first_name=spec.first_name,
        last_name=spec.last_name,
        pesel=_demo_pesel(spec),
        phone_on_file=spec.phone,
    )


def _load_account(spec: AccountSpec, customer: Customer, bank: Bank, counts: LoadCounts) -> Account:
    reference = account_reference(spec.number)
    account = Account.objects.filter(bank=bank, reference=reference).first()
    if account is not None:
        return account
    counts.accounts += 1
    return account_create(
        actor=DEMO_ACTOR,
        bank=bank,
        customer=customer,
        reference=reference,
        kind=spec.kind,
        currency=spec.currency,
        # The account number carries its bank's settlement number, as every Polish IBAN does.
        iban=make_iban(2_026_000_000_000_000 + spec.number, bank.settlement_number),
        balance_minor=spec.balance_minor,
        credit_limit_minor=spec.credit_limit_minor,
        billing_day=spec.billing_day,
        opened_at=_days_ago(spec.opened_days_ago) if spec.opened_days_ago else None,
    )


def _days_ago(days: int) -> dt.datetime:
    """Midnight in Warsaw ``days`` days before today."""
    day = timezone.localdate() - dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _load_card(
    spec: CardSpec,
    *,
    customer: Customer,
    bank: Bank,
    products: dict[tuple[str, str], CardProduct],
    accounts: dict[int, Account],
    cards: dict[int, Card],
    today: dt.date,
    counts: LoadCounts,
) -> Card:
    reference = card_reference(spec.number)
    card = Card.objects.filter(bank=bank, reference=reference).first()
    if card is not None:
        return card
    counts.cards += 1
    product = products[(bank.code, spec.product)]
    if spec.renews is not None:
        card = card_renew(actor=DEMO_ACTOR, card=cards[spec.renews], reference=reference)
    elif spec.replaces is not None:
        card = card_replace(actor=DEMO_ACTOR, card=cards[spec.replaces], reference=reference, pan=_pan(spec, product))
    else:
        card = card_issue(
            actor=DEMO_ACTOR,
            reference=reference,
            product=product,
            account=accounts[spec.account],
            customer=customer,
            pan=_pan(spec, product),
            embossed_name=embossed_name(customer.first_name, customer.last_name),
            issued_on=_months_before(today, spec.issued_months_ago),
        )
    # Every status is reached the way a real card reaches it: activated first, then its PIN set
    # (only an active card takes a PIN), then blocked or cancelled.
    if spec.status != CardStatus.INACTIVE:
        card = card_transition(actor=DEMO_ACTOR, card=card, to_status=CardStatus.ACTIVE, reason=StatusReason.ACTIVATED)
        card = _give_demo_pin(card, counts)
        if spec.internet_limit is not None:
            # As the holder would in the portal (the same service; the code that confirms a higher limit is the
            # portal's step, not the service's).
            card_limits_change(actor=DEMO_ACTOR, card=card, limits={"internet": _zl(spec.internet_limit)})
            card.refresh_from_db()
        if spec.blocked_categories:
            # As the holder would on the controls page (blocking needs no code).
            settings = control_settings_of(card)
            card = card_controls_change(
                actor=DEMO_ACTOR,
                card=card,
                settings=dataclasses.replace(settings, blocked_categories=spec.blocked_categories),
            )
    if spec.status in {CardStatus.BLOCKED, CardStatus.CANCELLED}:
        if spec.reason is None:
            raise ValueError(f"demo card {spec.number} needs a reason to become {spec.status}")
        card = card_transition(actor=DEMO_ACTOR, card=card, to_status=spec.status, reason=spec.reason)
    return card


def _give_demo_pin(card: Card, counts: LoadCounts) -> Card:
    """Set DEMO_CARD_PIN on ``card`` through the PIN service, unless it has a PIN or cannot take one now.

    The same service as the portal's "Change the PIN" (its keyed verification value bound
    to the card, the 3-D Secure PIN check, the audit row), so that the card core verifies
    a PIN block of the demo PIN exactly as it would a PIN the holder chose.
    """
    if card.pin_verification_value or not operation_allowed(card, Operation.PIN_CHANGE, by_bank=True):
        return card
    pin_check(DEMO_CARD_PIN, card=card)
    counts.pins += 1
    return card_pin_change(
        actor=DEMO_ACTOR,
        card=card,
        pvvs=pin_verification_values(DEMO_CARD_PIN, card=card),
        threeds_pvvs=threeds_pin_verification_values(DEMO_CARD_PIN, customer=card.customer),
    )


def _give_demo_threeds_pin(customer: Customer, counts: LoadCounts) -> None:
    """Set DEMO_THREEDS_PIN as ``customer``'s 3-D Secure PIN through the portal's service, unless they have one.

    The same service as the portal's 3-D Secure page after its SMS code (the keyed value, the check against the
    card PINs, the audit row and the holder's SMS, which lands in the development SMS outbox). A customer for
    whom the PIN rules refuse it (a card ending in these digits, a card whose holder chose this PIN) keeps none.
    """
    if threeds_profile_get(customer=customer).has_pin:
        return
    try:
        values = threeds_pin_values(DEMO_THREEDS_PIN, customer=customer)
        threeds_pin_set(actor=DEMO_ACTOR, customer=customer, **values)
    except (ValidationError, DomainError):
        return
    counts.threeds_pins += 1


def _load_portal_user(spec: CustomerSpec, customer: Customer, counts: LoadCounts) -> None:
    if not spec.registered or User.objects.filter(customer=customer).exists():
        return
    counts.users += 1
    User.objects.create_user(
        username=f"c{customer.pk}",
        password=DEMO_PASSWORD,
        kind=UserKind.CUSTOMER,
        customer=customer,
        login=spec.login,
        portal_phone=customer.phone_on_file,
    )


# Yesterday's ECB reference rates (1 EUR = …), as the bank would send them every working day: with them
# the demo's converted payments show their charge over the ECB's rate (the demo converts euro at 4.2850
# PLN, processing/merchants.py: 1.18 % over 4.2350). CBPR2, docs/processing.md.
DEMO_ECB_RATES = {"PLN": Decimal("4.2350"), "CZK": Decimal("25.105"), "HUF": Decimal("385.40"), "SEK": Decimal("11.21")}


def _load_reference_rates(today: dt.date, counts: LoadCounts) -> None:
    day = today - dt.timedelta(days=1)
    if not EcbReferenceRate.objects.filter(rate_date=day).exists():
        counts.reference_rates += len(ecb_rates_set(actor=DEMO_ACTOR, rate_date=day, rates=DEMO_ECB_RATES))
    # The bank's own EUR -> PLN rate, which the demo converts at: the card core converts the PSD2 ceilings
    # (EUR) with it. Valid from a year back, so that the simulator's back-filled days find it too.
    if not ConversionRate.objects.filter(from_currency=Currency.EUR, to_currency=Currency.PLN).exists():
        conversion_rate_set(
            actor=DEMO_ACTOR,
            from_currency=Currency.EUR,
            to_currency=Currency.PLN,
            rate=DEMO_EUR_PLN,
            valid_from=timezone.now() - dt.timedelta(days=366),
        )


@transaction.atomic
def demo_bank_load() -> LoadCounts:
    """Create whatever of the demo banks is missing, through the services, in one transaction.

    The banks too: a load that fails part-way (say, on a customer) leaves no bank behind either.
    """
    today = timezone.localdate()
    counts = LoadCounts()
    banks = _load_banks(counts)
    products = {(spec.bank, spec.code): _load_product(spec, banks[spec.bank], counts) for spec in PRODUCTS}
    customers = {spec.number: _load_customer(spec, banks, counts) for spec in CUSTOMERS}
    accounts = {
        account.number: _load_account(account, customers[spec.number], banks[account.bank or spec.bank], counts)
        for spec in CUSTOMERS
        for account in spec.accounts
    }
    # Cards after every account: an employee's business card draws on the owner's account.
    cards: dict[int, Card] = {}
    for spec in CUSTOMERS:
        for card in spec.cards:
            cards[card.number] = _load_card(
                card,
                customer=customers[spec.number],
                bank=banks[card.bank or spec.bank],
                products=products,
                accounts=accounts,
                cards=cards,
                today=today,
                counts=counts,
            )
        _load_portal_user(spec, customers[spec.number], counts)
    # A demo bank loaded before its cards had PINs gets them now; a PIN the holder set stays.
    pinless = Card.objects.filter(pk__in=[card.pk for card in cards.values()], pin_verification_value="")
    for pinless_card in pinless.select_related("customer", "product").order_by("pk"):
        _give_demo_pin(pinless_card, counts)
    # After the card PINs: the 3-D Secure PIN is compared with them.
    for customer in customers.values():
        _give_demo_threeds_pin(customer, counts)
    # Anna Kowalska's phone has the BS Pay app activated, with the published demo key (devices/demo.py).
    from kartosfera.devices.demo import demo_device_load

    if demo_device_load(actor=DEMO_ACTOR, customer=customers[1]):
        counts.devices += 1
    _load_reference_rates(today, counts)
    # The first customer's first card in three phone wallets (kartosfera/tokens/demo.py).
    from kartosfera.tokens.demo import demo_tokens_load

    counts.tokens += demo_tokens_load(actor=DEMO_ACTOR, card=cards[1])
    return counts


@dataclass(frozen=True)
class DemoLogin:
    """One row of the printed table of demo logins."""

    identifier: str
    name: str
    access: str  # the password, or why the customer has none yet
    cards: list[str] = field(default_factory=list)


_STATE_LABELS: dict[str, str] = {
    StatusReason.BLOCKED_BY_CUSTOMER: "blocked by the cardholder",
    StatusReason.BLOCKED_BY_BANK: "blocked by the bank",
}


def _card_label(card: Card, today: dt.date) -> str:
    if card.is_expired(today):
        state = "expired"
    elif card.status == CardStatus.BLOCKED:
        state = _STATE_LABELS.get(card.status_reason, "blocked")
    elif card.status == CardStatus.CANCELLED:
        state = f"cancelled ({card.status_reason.replace('_', ' ')})"
    else:
        state = card.status
    notes = [state]
    if card.replaces is not None:
        # A renewal keeps the number; a replacement has a new one.
        same_number = card.replaces.pan_fingerprint == card.pan_fingerprint
        notes.append("renewal" if same_number else f"replacement of *{card.replaces.pan_last4}")
    if not card.product.contactless_capable:
        notes.append("no contactless")
    # Only the last four digits: the output lands in terminals and CI logs. The bank first: a person
    # may hold cards of two banks of the group.
    return f"{card.bank.short_name}: {card.product.name} *{card.pan_last4}: {', '.join(notes)}"


def demo_login_list() -> list[DemoLogin]:
    """The demo customers as the printed table shows them: how to sign in and which cards they hold."""
    today = timezone.localdate()
    customers = (
        Customer.objects.filter(reference__startswith=CUSTOMER_PREFIX)
        .select_related("portal_user")
        .prefetch_related(
            Prefetch(
                "cards",
                Card.objects.select_related("bank", "product", "replaces").order_by("bank__short_name", "reference"),
            )
        )
        .order_by("reference")
    )
    rows = []
    for customer in customers:
        identifier = customer.pesel or customer.nonresident_id or ""
        user = getattr(customer, "portal_user", None)
        if user is not None:
            access = DEMO_PASSWORD
            if user.login:
                identifier = f"{identifier} or {user.login}"
        elif customer.phone_on_file:
            access = "not registered: register by SMS"
        else:
            access = "no phone: registers at a branch"
        cards = [_card_label(card, today) for card in customer.cards.all()]
        rows.append(DemoLogin(identifier=identifier, name=customer.full_name, access=access, cards=cards))
    return rows
