"""The banks of the group and their branches, provisioned by the group's systems (provisioning API).

Only a key of the group's systems (``ApiKey.bank`` empty) may use these endpoints: a bank's key gets
403 ``group_key_required`` on the collection (``/banks``) and 404 on every bank and branch, its own
included, so that the endpoints tell a bank's system nothing (docs/api.md, "Banks and branches"). The logo is not
part of these answers (its own endpoint serves it). Writes go through kartosfera.banks.services.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Path, Router, Schema
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, field_validator

from kartosfera.api import schemas as s
from kartosfera.api.acting_bank import BANK_CODE_PATTERN, require_group_key
from kartosfera.api.auth import request_actor, request_api_key
from kartosfera.api.endpoints import ERRORS, as_json, idempotency_key
from kartosfera.api.idempotency import idempotent_create
from kartosfera.banks.models import Bank, Branch
from kartosfera.banks.selectors import bank_get_by_code, bank_list, branch_list
from kartosfera.banks.services import BANK_FIELDS, bank_create, bank_update, branch_create, branch_update

router = Router(tags=["banks"])

_GROUP_ONLY = " Group keys only: a bank's key gets 404."


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(max_length=max_length)


_STORABLE = AfterValidator(s._storable)
# Lengths from the models; the shapes (settlement number, NIP, REGON, KRS, SMS sender, colour contrast)
# are the models' validators, run by the services: their messages come back as 422s on the same fields.
BankName = Annotated[str, _text(s._max_length(Bank, "name")), _STORABLE]
BankShortName = Annotated[str, _text(s._max_length(Bank, "short_name")), _STORABLE]
SettlementNumber = Annotated[str, _text(s._max_length(Bank, "settlement_number")), _STORABLE]
RegistryNumber = Annotated[str, _text(14), _STORABLE]
Website = Annotated[str, _text(200), _STORABLE]
Phone = Annotated[str, _text(s._max_length(Bank, "helpline_phone")), _STORABLE]
SmsSender = Annotated[str, _text(s._max_length(Bank, "sms_sender")), _STORABLE]
Colour = Annotated[str, _text(s._max_length(Bank, "brand_colour")), _STORABLE]
LongText = Annotated[str, _text(1000), _STORABLE]
BranchText = Annotated[str, _text(s._max_length(Branch, "name")), _STORABLE]
# The model guards the shape with a CHECK constraint only (its message names no field): the schema states it.
PostalCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}-[0-9]{3}$")]
City = Annotated[str, _text(s._max_length(Branch, "city")), _STORABLE]
BranchPhone = Annotated[str, _text(s._max_length(Branch, "phone")), _STORABLE]


class BankCreateIn(s.InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "BSNOWY",
                    "name": "Bank Spółdzielczy w Nowym Mieście",
                    "short_name": "BS Nowe Miasto",
                    "settlement_number": "81230000",
                    "sms_sender": "BSNowe",
                }
            ]
        }
    )

    code: Annotated[str, StringConstraints(pattern=BANK_CODE_PATTERN)] = Field(
        description="A stable code: 2-16 capital letters, digits or '-', starting with a letter or digit."
    )
    name: BankName
    short_name: BankShortName
    settlement_number: SettlementNumber | None = Field(None, description="The 8-digit numer rozliczeniowy.")
    registered_address: LongText = ""
    krs: RegistryNumber = ""
    nip: RegistryNumber = ""
    regon: RegistryNumber = ""
    website: Website = ""
    helpline_phone: Phone = Field("", description="Empty: the group's helpline answers for the bank.")
    card_blocking_phone: Phone = Field("", description="Empty: the group's card blocking line answers for the bank.")
    sms_sender: SmsSender = ""
    brand_colour: Colour = Field("", description="#RRGGBB with enough contrast against white text (WCAG AA).")


class BankUpdateIn(s.InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"helpline_phone": "+48 22 123 45 67"}]})

    name: BankName = s.not_sent()
    short_name: BankShortName = s.not_sent()
    settlement_number: SettlementNumber | None = Field(None, description="null removes it.")
    registered_address: LongText = s.not_sent()
    krs: RegistryNumber = s.not_sent()
    nip: RegistryNumber = s.not_sent()
    regon: RegistryNumber = s.not_sent()
    website: Website = s.not_sent()
    helpline_phone: Phone = s.not_sent()
    card_blocking_phone: Phone = s.not_sent()
    sms_sender: SmsSender = s.not_sent()
    brand_colour: Colour = s.not_sent()

    @field_validator(*(name for name in BANK_FIELDS if name != "settlement_number"), mode="before")
    @classmethod
    def reject_null(cls, value: Any) -> Any:
        return s._not_null(value)


class BankOut(Schema):
    code: str
    name: str
    short_name: str
    settlement_number: str | None
    registered_address: str
    krs: str
    nip: str
    regon: str
    website: str
    helpline_phone: str = Field(description="Empty: the group's helpline answers for the bank.")
    card_blocking_phone: str = Field(description="Empty: the group's card blocking line answers for the bank.")
    sms_sender: str
    brand_colour: str
    has_logo: bool = Field(description="Whether the bank has a logo (the image itself is not part of this answer).")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_has_logo(obj: Bank) -> bool:
        return bool(obj.logo_content_type)


class BranchCreateIn(s.InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Oddział w Nowym Mieście",
                    "street": "ul. Rynek 1",
                    "postal_code": "00-950",
                    "city": "Nowe Miasto",
                    "phone": "+48 22 100 20 30",
                    "opening_hours": "Mon-Fri 8:00-16:00",
                }
            ]
        }
    )

    name: BranchText
    street: BranchText
    postal_code: PostalCode = Field(description="NN-NNN.")
    city: City
    phone: BranchPhone = ""
    opening_hours: LongText = ""


class BranchUpdateIn(s.InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"opening_hours": "Mon-Fri 9:00-17:00"}]})

    name: BranchText = s.not_sent()
    street: BranchText = s.not_sent()
    postal_code: PostalCode = s.not_sent()
    city: City = s.not_sent()
    phone: BranchPhone = s.not_sent()
    opening_hours: LongText = s.not_sent()

    @field_validator("*", mode="before")
    @classmethod
    def reject_null(cls, value: Any) -> Any:
        return s._not_null(value)


class BranchOut(Schema):
    id: int
    bank: str = Field(description="The code of the bank.")
    name: str
    street: str
    postal_code: str
    city: str
    phone: str
    opening_hours: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_bank(obj: Branch) -> str:
        return obj.bank.code


def _bank_of_group(request: HttpRequest, code: str) -> Bank:
    # A bank's key gets 404 for every bank, its own included: these endpoints are the group's.
    if request_api_key(request).bank_id is not None or len(code) > 16 or "\x00" in code:
        raise Http404
    bank = bank_get_by_code(code=code)
    if bank is None:
        raise Http404
    return bank


def _branch_of(bank: Bank, branch_id: int) -> Branch:
    branch = branch_list(bank=bank).filter(pk=branch_id).select_related("bank").first()
    if branch is None:
        raise Http404
    return branch


_CODE = Path(..., example="BANK", description="The bank's code.")


@router.post(
    "",
    response={201: BankOut, **ERRORS},
    summary="Add a bank to the group",
    description="Group keys only: a bank's key gets 403 group_key_required.",
)
def create_bank(request: HttpRequest, payload: BankCreateIn, idempotency_key: str = idempotency_key()) -> HttpResponse:
    require_group_key(request)

    def create() -> dict[str, Any]:
        return as_json(request, BankOut, bank_create(actor=request_actor(request), **payload.model_dump()))

    return idempotent_create(request, key=idempotency_key, status=201, create=create)


@router.get(
    "",
    response={200: list[BankOut], **ERRORS},
    summary="List the banks of the group",
    description="Group keys only: a bank's key gets 403 group_key_required.",
)
def list_banks(request: HttpRequest) -> Any:
    require_group_key(request)
    # The logo's bytes are never part of the answer: not read either.
    return bank_list().defer("logo")


@router.get("/{code}", response={200: BankOut, **ERRORS}, summary="Get a bank", description=_GROUP_ONLY.strip())
def get_bank(request: HttpRequest, code: str = _CODE) -> Bank:
    return _bank_of_group(request, code)


@router.patch(
    "/{code}",
    response={200: BankOut, **ERRORS},
    summary="Update a bank's data (not its code)",
    description="Changes only the fields sent." + _GROUP_ONLY,
)
def update_bank(request: HttpRequest, payload: BankUpdateIn, code: str = _CODE) -> Bank:
    bank = _bank_of_group(request, code)
    return bank_update(actor=request_actor(request), bank=bank, **payload.model_dump(exclude_unset=True))


@router.post(
    "/{code}/branches",
    response={201: BranchOut, **ERRORS},
    summary="Add a branch to a bank",
    description=_GROUP_ONLY.strip(),
)
def create_branch(
    request: HttpRequest, payload: BranchCreateIn, code: str = _CODE, idempotency_key: str = idempotency_key()
) -> HttpResponse:
    bank = _bank_of_group(request, code)

    def create() -> dict[str, Any]:
        branch = branch_create(actor=request_actor(request), bank=bank, **payload.model_dump())
        return as_json(request, BranchOut, branch)

    return idempotent_create(request, key=idempotency_key, status=201, create=create)


@router.get(
    "/{code}/branches",
    response={200: list[BranchOut], **ERRORS},
    summary="List a bank's branches",
    description=_GROUP_ONLY.strip(),
)
def list_branches(request: HttpRequest, code: str = _CODE) -> Any:
    return branch_list(bank=_bank_of_group(request, code)).select_related("bank")


@router.patch(
    "/{code}/branches/{branch_id}",
    response={200: BranchOut, **ERRORS},
    summary="Update a branch",
    description="Changes only the fields sent." + _GROUP_ONLY,
)
def update_branch(
    request: HttpRequest,
    payload: BranchUpdateIn,
    code: str = _CODE,
    branch_id: int = Path(..., example=1, description="The branch's id (`id` in its answers)."),
) -> Branch:
    branch = _branch_of(_bank_of_group(request, code), branch_id)
    return branch_update(actor=request_actor(request), branch=branch, **payload.model_dump(exclude_unset=True))
