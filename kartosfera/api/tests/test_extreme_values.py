"""Extreme dates and amounts on every endpoint: a 422 naming the field, or values within the bounds; never a 500.

Bounds (docs/api.md, "Conventions"): amounts within MAX_AMOUNT_MINOR (10^15) so that every sum
fits 64 bits; dates from 1900-01-01; a birth date not in the future; a card's expiry at most
MAX_VALIDITY_MONTHS (10 years) after its issue, also when it is computed.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.api.tests.conftest import errors_by_field
from kartosfera.cards.models import MAX_VALIDITY_MONTHS, Card, CardProduct
from kartosfera.cards.services import latest_expiry
from kartosfera.core.dates import EARLIEST_DATE
from kartosfera.core.money import MAX_AMOUNT_MINOR
from kartosfera.customers.models import Customer, Residency
from kartosfera.demo.identifiers import make_pesel
from kartosfera.testing.factories import account_factory, card_factory, customer_factory, make_pan, product_factory

pytestmark = pytest.mark.django_db

INT64_MAX = 2**63 - 1
_n = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-X{next(_n):05d}"


def assert_refused_on(response, field: str) -> None:
    assert response.status_code == 422, response.content[:300]
    assert field in errors_by_field(response), response.json()


# --- The defects as reported ---------------------------------------------------------


def test_a_card_cannot_be_issued_with_expiry_9999_12_31(bank):
    customer = customer_factory(reference="CIF-E1")
    product = product_factory(code="P-E1")
    account_factory(customer=customer, reference="ACC-E1")

    response = bank.post(
        "/cards",
        {
            "reference": "CARD-E1",
            "product": product.code,
            "account": "ACC-E1",
            "customer": "CIF-E1",
            "pan": make_pan("400000", 900_001),
            "embossed_name": "Anna Nowak",
            "expiry": "9999-12-31",
        },
    )

    assert_refused_on(response, "expiry")
    assert not Card.objects.filter(reference="CARD-E1").exists()


def test_renewing_a_card_stored_with_expiry_9999_12_31_is_a_422_not_a_500(bank):
    # A card stored before the bound existed: the default renewal expiry would be year 10009.
    card = card_factory(customer=customer_factory())
    Card.objects.filter(pk=card.pk).update(expiry=dt.date(9999, 12, 31))

    response = bank.post(f"/cards/{card.reference}/renew", {"reference": "CARD-RENEWED"})

    assert_refused_on(response, "expiry")
    assert not Card.objects.filter(reference="CARD-RENEWED").exists()


def test_a_default_renewal_expiry_is_kept_within_ten_years_of_the_renewal(bank):
    # Old expiry + the product's validity would be 15 years from today: the renewal gets the latest allowed.
    today = timezone.localdate()
    product = product_factory(validity_months=MAX_VALIDITY_MONTHS)
    card = card_factory(customer=customer_factory(), product=product, issued_on=today.replace(year=today.year - 5))

    response = bank.post(f"/cards/{card.reference}/renew", {"reference": "CARD-RENEWED"})

    assert response.status_code == 201, response.content
    assert response.json()["expiry"] == latest_expiry(today).isoformat()


def test_a_card_valid_for_ten_more_years_cannot_be_renewed_yet(bank):
    card = card_factory(customer=customer_factory(), product=product_factory(validity_months=MAX_VALIDITY_MONTHS))

    response = bank.post(f"/cards/{card.reference}/renew", {"reference": "CARD-RENEWED"})

    assert_refused_on(response, "expiry")


def test_a_card_is_valid_for_at_most_ten_years_from_its_issue(bank):
    customer = customer_factory(reference="CIF-E2")
    product = product_factory(code="P-E2")
    account_factory(customer=customer, reference="ACC-E2")
    issued_on = dt.date(2020, 5, 20)
    body = {"product": "P-E2", "account": "ACC-E2", "customer": "CIF-E2", "embossed_name": "A N"}
    body["issued_on"] = issued_on.isoformat()

    longest = bank.post(
        "/cards", {**body, "reference": "C-OK", "pan": make_pan("400000", 900_002), "expiry": "2030-05-01"}
    )
    too_long = bank.post(
        "/cards", {**body, "reference": "C-NO", "pan": make_pan("400000", 900_003), "expiry": "2030-06-01"}
    )
    ancient = bank.post(
        "/cards",
        {**body, "reference": "C-OLD", "pan": make_pan("400000", 900_004), "issued_on": "1899-12-31"},
    )

    assert longest.status_code == 201, longest.content
    assert longest.json()["expiry"] == "2030-05-31"
    assert_refused_on(too_long, "expiry")
    assert_refused_on(ancient, "issued_on")
    assert product.cards.count() == 1


@pytest.mark.parametrize(
    ("birth_date", "accepted"),
    [("1899-12-31", False), ("1900-01-01", True), ("0001-01-01", False), ("9999-12-31", False)],
)
def test_a_birth_date_is_plausible(bank, birth_date, accepted):
    body = {"reference": "CIF-B", "residency": "non_resident", "first_name": "A", "last_name": "B"}

    created = bank.post("/customers", {**body, "birth_date": birth_date})
    customer_factory(reference="CIF-B2", residency=Residency.NON_RESIDENT)
    updated = bank.patch("/customers/CIF-B2", {"birth_date": birth_date})

    if accepted:
        assert created.status_code == 201, created.content
        assert updated.status_code == 200, updated.content
    else:
        assert_refused_on(created, "birth_date")
        assert_refused_on(updated, "birth_date")
        assert not Customer.objects.filter(reference="CIF-B").exists()
        assert Customer.objects.get(reference="CIF-B2").birth_date is None


def test_a_pesel_of_someone_born_in_the_1800s_is_refused(bank):
    pesel = make_pesel(dt.date(1899, 12, 31), 1, female=True)

    response = bank.post(
        "/customers",
        {"reference": "CIF-P", "residency": "resident", "first_name": "A", "last_name": "B", "pesel": pesel},
    )

    assert_refused_on(response, "pesel")


def test_balance_and_credit_limit_of_int64_max_are_refused(bank):
    customer_factory(reference="CIF-M")
    body = {"customer": "CIF-M", "kind": "credit", "billing_day": 10}

    response = bank.post(
        "/accounts", {**body, "reference": "ACC-M", "balance_minor": INT64_MAX, "credit_limit_minor": INT64_MAX}
    )
    largest = bank.post(
        "/accounts",
        {**body, "reference": "ACC-L", "balance_minor": MAX_AMOUNT_MINOR, "credit_limit_minor": MAX_AMOUNT_MINOR},
    )

    assert response.status_code == 422
    assert {"balance_minor", "credit_limit_minor"} <= set(errors_by_field(response))
    assert largest.status_code == 201, largest.content
    assert largest.json()["available_funds_minor"] == 2 * MAX_AMOUNT_MINOR <= INT64_MAX


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"credit_limit_minor": MAX_AMOUNT_MINOR + 1}, "credit_limit_minor"),
        ({"credit_limit_minor": INT64_MAX}, "credit_limit_minor"),
    ],
)
def test_an_account_update_above_the_maximum_is_refused(bank, update, field):
    account = account_factory(customer=customer_factory(), kind=AccountKind.CREDIT)

    assert_refused_on(bank.patch(f"/accounts/{account.reference}", update), field)
    account.refresh_from_db()
    assert account.balance_minor == -120_000


def test_a_product_limit_above_the_maximum_is_refused(bank):
    product = product_factory()

    response = bank.patch(f"/card-products/{product.code}", {"noncash_limit_max_minor": INT64_MAX})

    assert_refused_on(response, "noncash_limit_max_minor")


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (Account, "balance_minor", MAX_AMOUNT_MINOR + 1),
        (Account, "balance_minor", -MAX_AMOUNT_MINOR - 1),
        (CardProduct, "noncash_limit_max_minor", MAX_AMOUNT_MINOR + 1),
        (Card, "cash_limit_max_minor", MAX_AMOUNT_MINOR + 1),
        (CardProduct, "validity_months", MAX_VALIDITY_MONTHS + 1),
    ],
)
def test_the_database_refuses_amounts_above_the_maximum_too(model, field, value):
    card = card_factory(customer=customer_factory())
    row = {Account: card.account, CardProduct: card.product, Card: card}[model]

    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field: value})


# --- Generated extremes on every endpoint ----------------------------------------------

EXTREME_DATES = st.one_of(
    st.dates(),
    st.sampled_from(
        [
            dt.date.min,
            dt.date(1899, 12, 31),
            EARLIEST_DATE,
            dt.date(2036, 12, 31),
            dt.date(2100, 2, 28),
            dt.date.max,
        ]
    ),
)
EXTREME_AMOUNTS = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from(
        [
            0,
            1,
            -1,
            MAX_AMOUNT_MINOR,
            MAX_AMOUNT_MINOR + 1,
            -MAX_AMOUNT_MINOR,
            -MAX_AMOUNT_MINOR - 1,
            INT64_MAX,
            -(2**63),
        ]
    ),
)
LIMIT_FIELDS = [f"{c}_limit_{k}_minor" for c in ("cash", "noncash", "internet") for k in ("max", "default")]


def _check(response, fields: set[str]) -> None:
    """A 2xx, or a 4xx in the error format that names one of ``fields``; never a 500."""
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        errors = errors_by_field(response)
        if response.status_code == 422:
            assert set(errors) & fields, (fields, response.json())


def _assert_stored_values_within_bounds() -> None:
    today = timezone.localdate()
    assert not Account.objects.exclude(balance_minor__range=(-MAX_AMOUNT_MINOR, MAX_AMOUNT_MINOR)).exists()
    assert not Account.objects.filter(credit_limit_minor__gt=MAX_AMOUNT_MINOR).exists()
    for field in LIMIT_FIELDS:
        assert not CardProduct.objects.filter(**{f"{field}__gt": MAX_AMOUNT_MINOR}).exists()
    assert not Customer.objects.filter(birth_date__lt=EARLIEST_DATE).exists()
    assert not Customer.objects.filter(birth_date__gt=today).exists()
    assert not Card.objects.filter(expiry__gt=latest_expiry(today)).exists()
    assert not Card.objects.filter(expiry__lt=EARLIEST_DATE).exists()


_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_SETTINGS
@given(birth_date=EXTREME_DATES)
def test_extreme_birth_dates_on_customer_endpoints(bank, birth_date):
    reference = unique("CIF")
    created = bank.post(
        "/customers",
        {
            "reference": reference,
            "residency": "non_resident",
            "first_name": "A",
            "last_name": "B",
            "birth_date": birth_date.isoformat(),
        },
    )
    _check(created, {"birth_date"})
    existing = customer_factory(residency=Residency.NON_RESIDENT)
    _check(bank.patch(f"/customers/{existing.reference}", {"birth_date": birth_date.isoformat()}), {"birth_date"})
    _check(bank.get(f"/customers/{existing.reference}"), set())
    _assert_stored_values_within_bounds()


@_SETTINGS
@given(balance=EXTREME_AMOUNTS, credit_limit=EXTREME_AMOUNTS)
def test_extreme_amounts_on_account_endpoints(bank, balance, credit_limit):
    customer = customer_factory()
    fields = {"balance_minor", "credit_limit_minor"}
    created = bank.post(
        "/accounts",
        {
            "reference": unique("ACC"),
            "customer": customer.reference,
            "kind": "credit",
            "billing_day": 1,
            "balance_minor": balance,
            "credit_limit_minor": credit_limit,
        },
    )
    _check(created, fields)
    if created.status_code == 201:
        assert abs(created.json()["available_funds_minor"]) <= INT64_MAX
    existing = account_factory(customer=customer, kind=AccountKind.CREDIT)
    updated = bank.patch(f"/accounts/{existing.reference}", {"credit_limit_minor": credit_limit})
    _check(updated, fields)
    # The balance moves only by postings: an amount of either sign, posted as a credit or a debit.
    posted = bank.post(
        f"/accounts/{existing.reference}/postings",
        {
            "reference": unique("TRN"),
            "direction": "credit" if balance >= 0 else "debit",
            "amount_minor": abs(balance),
            "currency": "PLN",
        },
    )
    _check(posted, {"amount_minor"})
    read = bank.get(f"/accounts/{existing.reference}")
    _check(read, set())
    assert abs(read.json()["available_funds_minor"]) <= INT64_MAX
    _assert_stored_values_within_bounds()


@_SETTINGS
@given(amounts=st.fixed_dictionaries(dict.fromkeys(LIMIT_FIELDS, EXTREME_AMOUNTS)), validity=st.integers(-10, 40000))
def test_extreme_amounts_and_validity_on_card_product_endpoints(bank, amounts, validity):
    fields = {*LIMIT_FIELDS, "validity_months"}
    code = unique("P")
    created = bank.post(
        "/card-products",
        {
            "code": code,
            "name": "P",
            "brand": "visa",
            "funding": "debit",
            "segment": "individual",
            "validity_months": validity,
            **amounts,
        },
    )
    _check(created, fields)
    existing = product_factory()
    card_factory(customer=customer_factory(), product=existing)  # its cards follow the product's maxima
    _check(bank.patch(f"/card-products/{existing.code}", {**amounts, "validity_months": validity}), fields)
    _check(bank.get(f"/card-products/{existing.code}"), set())
    _assert_stored_values_within_bounds()


@_SETTINGS
@given(expiry=st.none() | EXTREME_DATES, issued_on=st.none() | EXTREME_DATES, validity=st.sampled_from([1, 48, 120]))
def test_extreme_dates_on_card_endpoints(bank, expiry, issued_on, validity):
    fields = {"expiry", "issued_on"}
    customer = customer_factory()
    product = product_factory(validity_months=validity)
    account = account_factory(customer=customer)
    dates = {"expiry": expiry and expiry.isoformat(), "issued_on": issued_on and issued_on.isoformat()}
    issued = bank.post(
        "/cards",
        {
            "reference": unique("CARD"),
            "product": product.code,
            "account": account.reference,
            "customer": customer.reference,
            "pan": make_pan("400000", 200_000 + next(_n)),
            "embossed_name": "A B",
            **{k: v for k, v in dates.items() if v is not None},
        },
    )
    _check(issued, fields)

    existing = card_factory(customer=customer, product=product, account=account)
    renew_body = {"reference": unique("REN")}
    if expiry is not None:
        renew_body["expiry"] = expiry.isoformat()
    renewed = bank.post(f"/cards/{existing.reference}/renew", renew_body)
    _check(renewed, {"expiry"})

    other = card_factory(customer=customer, product=product, account=account)
    replace_body = {"reference": unique("REP"), "pan": make_pan("400000", 300_000 + next(_n))}
    if expiry is not None:
        replace_body["expiry"] = expiry.isoformat()
    _check(bank.post(f"/cards/{other.reference}/replace", replace_body), {"expiry"})
    _check(bank.get(f"/cards/{existing.reference}"), set())
    _assert_stored_values_within_bounds()
