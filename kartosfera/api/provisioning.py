"""The bank provisioning API (bank → Kartosfera): customers, accounts, card products, cards.

Thin endpoints: parse with a schema, look up through a selector, call one
service, answer with a schema. Business rules live in the services; errors
become HTTP answers in kartosfera/api/errors.py; creates go through
kartosfera/api/idempotency.py.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Router

from kartosfera.accounts.models import Account
from kartosfera.accounts.selectors import account_get_by_reference
from kartosfera.accounts.services import account_create, account_update
from kartosfera.api import schemas as s
from kartosfera.api.acting_bank import acting_bank, bank_header, require_group_key
from kartosfera.api.auth import request_actor
from kartosfera.api.banks import router as banks
from kartosfera.api.base import KartosferaAPI
from kartosfera.api.endpoints import ERRORS as _ERRORS
from kartosfera.api.endpoints import as_json as _as_json
from kartosfera.api.endpoints import idempotency_key as _idempotency_key
from kartosfera.api.idempotency import idempotent_create
from kartosfera.api.models import ApiScope
from kartosfera.banks.models import Bank
from kartosfera.cards.models import Card, CardProduct
from kartosfera.cards.selectors import card_get_by_reference, card_product_get_by_code
from kartosfera.cards.services import card_issue, card_product_create, card_product_update, card_renew, card_replace
from kartosfera.core.errors import ValidationFailed
from kartosfera.customers.models import Customer
from kartosfera.customers.selectors import customer_get_by_reference
from kartosfera.customers.services import customer_create, customer_update
from kartosfera.processing.cbpr2 import ecb_rate_latest, ecb_rates_set
from kartosfera.processing.conversion import conversion_rate_at, conversion_rate_set
from kartosfera.processing.ledger import bank_posting_record, repayment_record
from kartosfera.processing.models import ConversionRate

T = TypeVar("T")

api = KartosferaAPI(
    scope=ApiScope.PROVISIONING,
    title="Kartosfera provisioning API",
    version="1",
    description=(
        "Server-to-server API through which the group's banks provision customers, accounts, card products and "
        "cards, and the group's systems provision the banks, their branches and the rates. "
        "Authenticate with `Authorization: Bearer kfk_…` (scope `provisioning`); send an `Idempotency-Key` "
        "with every create. A bank's key works in its own bank only (another bank's object: 404); a key of the "
        "group's systems names the bank of each request in the `X-Bank-Code` header (without it: 422). "
        "The full card number is accepted only when a card is issued, renewed or replaced, "
        "and never returned. See docs/api.md."
    ),
    urls_namespace="provisioning_v1",
)


def _path_reference(example: str) -> Any:
    # The example names an object of the documented story (docs/api.md), so that a client trying the
    # reference, or schemathesis, reaches an existing object.
    return Path(..., example=example)


def _path_lookup(lookup: Callable[..., T], bank: Bank, **kwargs: str) -> T:
    # A value that no create could have stored (too long, NUL) is simply not found;
    # PostgreSQL would otherwise refuse the query itself.
    if any(len(value) > 64 or "\x00" in value for value in kwargs.values()):
        raise Http404
    return lookup(bank=bank, **kwargs)


def _body_lookup(field: str, lookup: Callable[..., T], message: str, bank: Bank, **kwargs: str) -> T:
    # An unknown object named in the body is an error in that field, not a missing URL; another bank's
    # object is unknown here alike (the lookup is within the acting bank).
    try:
        return lookup(bank=bank, **kwargs)
    except Http404:
        raise ValidationFailed({field: message}) from None


# --- Customers ------------------------------------------------------------------------

customers = Router(tags=["customers"])


@customers.post("", response={201: s.CustomerOut, **_ERRORS}, summary="Create a customer")
def create_customer(
    request: HttpRequest,
    payload: s.CustomerCreateIn,
    idempotency_key: str = _idempotency_key(),
    bank_code: str | None = bank_header(),
) -> HttpResponse:
    bank = acting_bank(request, bank_code)

    def create() -> dict[str, Any]:
        # A person another bank already serves (the same PESEL or identification number) joins as the
        # bank's customer (customer_create), and the answer reads exactly as a new customer's.
        customer = customer_create(actor=request_actor(request), bank=bank, **payload.model_dump())
        return _as_json(request, s.CustomerOut, customer)

    return idempotent_create(request, key=idempotency_key, status=201, create=create, bank=bank)


@customers.get("/{reference}", response={200: s.CustomerOut, **_ERRORS}, summary="Get a customer")
def get_customer(
    request: HttpRequest, reference: str = _path_reference("CIF-000123"), bank_code: str | None = bank_header()
) -> Customer:
    return _path_lookup(customer_get_by_reference, acting_bank(request, bank_code), reference=reference)


@customers.patch("/{reference}", response={200: s.CustomerOut, **_ERRORS}, summary="Update a customer")
def update_customer(
    request: HttpRequest,
    payload: s.CustomerUpdateIn,
    reference: str = _path_reference("CIF-000123"),
    bank_code: str | None = bank_header(),
) -> Customer:
    bank = acting_bank(request, bank_code)
    customer = _path_lookup(customer_get_by_reference, bank, reference=reference)
    changes = payload.model_dump(exclude_unset=True)
    return customer_update(actor=request_actor(request), customer=customer, bank=bank, **changes)


# --- Accounts -------------------------------------------------------------------------

accounts = Router(tags=["accounts"])


@accounts.post("", response={201: s.AccountOut, **_ERRORS}, summary="Open an account")
def create_account(
    request: HttpRequest,
    payload: s.AccountCreateIn,
    idempotency_key: str = _idempotency_key(),
    bank_code: str | None = bank_header(),
) -> HttpResponse:
    bank = acting_bank(request, bank_code)

    def create() -> dict[str, Any]:
        values = payload.model_dump()
        customer = _body_lookup(
            "customer",
            customer_get_by_reference,
            _("No customer has this reference."),
            bank,
            reference=values.pop("customer"),
        )
        account = account_create(actor=request_actor(request), bank=bank, customer=customer, **values)
        return _as_json(request, s.AccountOut, account)

    return idempotent_create(request, key=idempotency_key, status=201, create=create, bank=bank)


@accounts.get("/{reference}", response={200: s.AccountOut, **_ERRORS}, summary="Get an account")
def get_account(
    request: HttpRequest, reference: str = _path_reference("ACC-000987"), bank_code: str | None = bank_header()
) -> Account:
    return _path_lookup(account_get_by_reference, acting_bank(request, bank_code), reference=reference)


@accounts.patch(
    "/{reference}",
    response={200: s.AccountOut, **_ERRORS},
    summary="Update the credit limit, billing day, IBAN",
    description="Never the balance: it is set when the account is opened and moved only by postings "
    "(`POST /accounts/{reference}/postings`, and the card scheme's clearing). `balance_minor` is refused (422).",
)
def update_account(
    request: HttpRequest,
    payload: s.AccountUpdateIn,
    reference: str = _path_reference("ACC-000987"),
    bank_code: str | None = bank_header(),
) -> Account:
    account = _path_lookup(account_get_by_reference, acting_bank(request, bank_code), reference=reference)
    return account_update(actor=request_actor(request), account=account, **payload.model_dump(exclude_unset=True))


@accounts.post(
    "/{reference}/postings",
    response={201: s.AccountPostingOut, 200: s.AccountPostingOut, **_ERRORS},
    summary="Post the bank's credit or debit to an account",
    description=(
        "Money that moves outside the cards (a salary credit, a transfer, a fee), booked by the bank's core "
        "system, moves the balance here by the same amount, in the ledger the card payments post to and under "
        "the same lock (docs/decisions/0013). 201 with the posting; the same reference with the same content "
        "again (e.g. re-sent under a new Idempotency-Key) is 200 with the first posting and books nothing; the "
        "same reference with other content is 409 posting_reference_conflict. A debit may take the balance "
        "below zero: the bank has booked it."
    ),
)
def post_to_account(
    request: HttpRequest,
    payload: s.AccountPostingIn,
    reference: str = _path_reference("ACC-000987"),
    idempotency_key: str = _idempotency_key(),
    bank_code: str | None = bank_header(),
) -> HttpResponse:
    bank = acting_bank(request, bank_code)
    account = _path_lookup(account_get_by_reference, bank, reference=reference)

    def create() -> tuple[int, dict[str, Any]]:
        result = bank_posting_record(actor=request_actor(request), account=account, **payload.model_dump())
        return (201 if result.created else 200), _as_json(request, s.AccountPostingOut, result.posting)

    return idempotent_create(request, key=idempotency_key, status=201, create=create, bank=bank)


@accounts.post(
    "/{reference}/repayments",
    response={201: s.RepaymentOut, 200: s.RepaymentOut, **_ERRORS},
    summary="Post a repayment to a credit card account",
    description=(
        "The holder's payment towards the credit card's debt, received by the bank's core system: the balance "
        'goes up by the amount, in the ledger as a `repayment` (the card\'s history shows it as "Spłata" / '
        '"Repayment"; docs/statements.md, "Repayments"). Only to a credit card account (a debit account: 422 '
        "not_a_credit_account). 201 with the repayment; the same reference with the same content again (e.g. "
        "re-sent under a new Idempotency-Key) is 200 with the first repayment and books nothing; the same reference "
        "with other content, or a reference another posting of the account has, is 409 posting_reference_conflict."
    ),
)
def post_repayment(
    request: HttpRequest,
    payload: s.RepaymentIn,
    reference: str = _path_reference("ACC-000987"),
    idempotency_key: str = _idempotency_key(),
    bank_code: str | None = bank_header(),
) -> HttpResponse:
    bank = acting_bank(request, bank_code)
    account = _path_lookup(account_get_by_reference, bank, reference=reference)

    def create() -> tuple[int, dict[str, Any]]:
        result = repayment_record(actor=request_actor(request), account=account, **payload.model_dump())
        return (201 if result.created else 200), _as_json(request, s.RepaymentOut, result.posting)

    return idempotent_create(request, key=idempotency_key, status=201, create=create, bank=bank)


# --- Card products --------------------------------------------------------------------

products = Router(tags=["card products"])


@products.post("", response={201: s.CardProductOut, **_ERRORS}, summary="Define a card product")
def create_card_product(
    request: HttpRequest,
    payload: s.CardProductCreateIn,
    idempotency_key: str = _idempotency_key(),
    bank_code: str | None = bank_header(),
) -> HttpResponse:
    bank = acting_bank(request, bank_code)

    def create() -> dict[str, Any]:
        product = card_product_create(actor=request_actor(request), bank=bank, **payload.model_dump())
        return _as_json(request, s.CardProductOut, product)

    return idempotent_create(request, key=idempotency_key, status=201, create=create, bank=bank)


@products.get("/{code}", response={200: s.CardProductOut, **_ERRORS}, summary="Get a card product")
def get_card_product(
    request: HttpRequest, code: str = _path_reference("VISA-DEBIT"), bank_code: str | None = bank_header()
) -> CardProduct:
    return _path_lookup(card_product_get_by_code, acting_bank(request, bank_code), code=code)


@products.patch(
    "/{code}",
    response={200: s.CardProductOut, **_ERRORS},
    summary="Update a card product (its cards follow new limit maxima)",
    description="`credit_terms`: any of a credit product's terms, the rest stay (the first time: all of them).",
)
def update_card_product(
    request: HttpRequest,
    payload: s.CardProductUpdateIn,
    code: str = _path_reference("VISA-DEBIT"),
    bank_code: str | None = bank_header(),
) -> CardProduct:
    product = _path_lookup(card_product_get_by_code, acting_bank(request, bank_code), code=code)
    return card_product_update(actor=request_actor(request), product=product, **payload.model_dump(exclude_unset=True))


# --- Cards ----------------------------------------------------------------------------

cards = Router(tags=["cards"])


@cards.post("", response={201: s.CardOut, **_ERRORS}, summary="Issue a card")
def issue_card(
    request: HttpRequest,
    payload: s.CardIssueIn,
    idempotency_key: str = _idempotency_key(),
    bank_code: str | None = bank_header(),
) -> HttpResponse:
    bank = acting_bank(request, bank_code)

    def create() -> dict[str, Any]:
        values = payload.model_dump()
        product = _body_lookup(
            "product", card_product_get_by_code, _("No card product has this code."), bank, code=values.pop("product")
        )
        account = _body_lookup(
            "account",
            account_get_by_reference,
            _("No account has this reference."),
            bank,
            reference=values.pop("account"),
        )
        customer = _body_lookup(
            "customer",
            customer_get_by_reference,
            _("No customer has this reference."),
            bank,
            reference=values.pop("customer"),
        )
        card = card_issue(actor=request_actor(request), product=product, account=account, customer=customer, **values)
        return _as_json(request, s.CardOut, card)

    return idempotent_create(request, key=idempotency_key, status=201, create=create, bank=bank)


@cards.get("/{reference}", response={200: s.CardOut, **_ERRORS}, summary="Get a card")
def get_card(
    request: HttpRequest, reference: str = _path_reference("CARD-000555"), bank_code: str | None = bank_header()
) -> Card:
    return _path_lookup(card_get_by_reference, acting_bank(request, bank_code), reference=reference)


@cards.post(
    "/{reference}/renew",
    response={201: s.CardOut, **_ERRORS},
    summary="Renew a card (usually the same number, a later expiry)",
)
def renew_card(
    request: HttpRequest,
    payload: s.CardRenewIn,
    reference: str = _path_reference("CARD-000555"),
    idempotency_key: str = _idempotency_key(),
    bank_code: str | None = bank_header(),
) -> HttpResponse:
    bank = acting_bank(request, bank_code)
    card = _path_lookup(card_get_by_reference, bank, reference=reference)

    def create() -> dict[str, Any]:
        renewal = card_renew(actor=request_actor(request), card=card, **payload.model_dump())
        return _as_json(request, s.CardOut, renewal)

    return idempotent_create(request, key=idempotency_key, status=201, create=create, bank=bank)


@cards.post(
    "/{reference}/replace",
    response={201: s.CardOut, **_ERRORS},
    summary="Replace a card with a new number (the old card is cancelled)",
)
def replace_card(
    request: HttpRequest,
    payload: s.CardReplaceIn,
    reference: str = _path_reference("CARD-000555"),
    idempotency_key: str = _idempotency_key(),
    bank_code: str | None = bank_header(),
) -> HttpResponse:
    bank = acting_bank(request, bank_code)
    card = _path_lookup(card_get_by_reference, bank, reference=reference)

    def create() -> dict[str, Any]:
        replacement = card_replace(actor=request_actor(request), card=card, **payload.model_dump())
        return _as_json(request, s.CardOut, replacement)

    return idempotent_create(request, key=idempotency_key, status=201, create=create, bank=bank)


# --- Conversion rates -------------------------------------------------------------------

rates = Router(tags=["conversion rates"])


@rates.post(
    "",
    response={201: s.ConversionRateOut, **_ERRORS},
    summary="Provision a conversion rate",
    description=(
        "The rate the card core converts with when the card scheme sends no amount in the account's currency "
        '(docs/processing.md, "Conversion"). A new rate is a new row: the latest whose valid_from has come '
        "applies. The same currencies and valid_from twice: 409. Group-wide data: only a key of the group's "
        "systems may provision it (a bank's key: 403 group_key_required); every key may read it."
    ),
)
def create_conversion_rate(
    request: HttpRequest, payload: s.ConversionRateIn, idempotency_key: str = _idempotency_key()
) -> HttpResponse:
    require_group_key(request)

    def create() -> dict[str, Any]:
        rate = conversion_rate_set(
            actor=request_actor(request),
            from_currency=payload.from_currency,
            to_currency=payload.to_currency,
            rate=Decimal(payload.rate),
            valid_from=payload.valid_from,
        )
        return _as_json(request, s.ConversionRateOut, rate)

    return idempotent_create(request, key=idempotency_key, status=201, create=create)


@rates.get(
    "/{from_currency}/{to_currency}",
    response={200: s.ConversionRateOut, **_ERRORS},
    summary="Get the conversion rate that applies now",
)
def get_conversion_rate(
    request: HttpRequest,
    from_currency: str = Path(..., example="EUR", pattern=r"^[A-Z]{3}$"),
    to_currency: str = Path(..., example="PLN", pattern=r"^[A-Z]{3}$"),
) -> ConversionRate:
    rate = conversion_rate_at(from_currency, to_currency, at=timezone.now())
    if rate is None:
        raise Http404
    return rate


# --- ECB reference rates ----------------------------------------------------------------

reference_rates = Router(tags=["ECB reference rates"])


@reference_rates.post(
    "",
    response={201: s.EcbRatesOut, **_ERRORS},
    summary="Provision a day's ECB reference rates",
    description=(
        "The ECB's euro foreign exchange reference rates of one day (1 EUR = rate units of each currency). "
        "Kartosfera does not convert with them: it states each converted card payment's charge as a mark-up "
        'over them, as CBPR2 requires (docs/processing.md, "The conversion charge"). All or none: a currency '
        "whose rate of that date exists already makes it a 409 ecb_rates_exist. Group-wide data: only a key of "
        "the group's systems may provision it (a bank's key: 403 group_key_required); every key may read it."
    ),
)
def create_reference_rates(
    request: HttpRequest, payload: s.EcbRatesIn, idempotency_key: str = _idempotency_key()
) -> HttpResponse:
    require_group_key(request)

    def create() -> dict[str, Any]:
        rows = ecb_rates_set(
            actor=request_actor(request),
            rate_date=payload.date,
            rates={currency: Decimal(rate) for currency, rate in payload.rates.items()},
            available_from=payload.available_from,
        )
        return {"date": payload.date, "rates": [_as_json(request, s.EcbRateOut, row) for row in rows]}

    return idempotent_create(request, key=idempotency_key, status=201, create=create)


@reference_rates.get(
    "/{currency}",
    response={200: s.EcbRateOut, **_ERRORS},
    summary="Get the latest ECB reference rate available now",
)
def get_reference_rate(request: HttpRequest, currency: str = Path(..., example="PLN", pattern=r"^[A-Z]{3}$")) -> Any:
    rate = ecb_rate_latest(currency, at=timezone.now())
    if rate is None:
        raise Http404
    return rate


api.add_router("/customers", customers)
api.add_router("/accounts", accounts)
api.add_router("/card-products", products)
api.add_router("/cards", cards)
api.add_router("/conversion-rates", rates)
api.add_router("/reference-rates", reference_rates)
api.add_router("/banks", banks)
api.add_router("/banks", "kartosfera.api.bank_logos.router")
