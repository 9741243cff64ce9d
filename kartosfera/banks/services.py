"""Adding and changing banks and branches (the group's systems and `manage.py bank_create`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kartosfera.banks.models import Bank, Branch
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import Conflict, ValidationFailed

BANK_FIELDS = (
    "name",
    "short_name",
    "settlement_number",
    "registered_address",
    "krs",
    "nip",
    "regon",
    "website",
    "helpline_phone",
    "card_blocking_phone",
    "sms_sender",
    "brand_colour",
)
BRANCH_FIELDS = ("name", "street", "postal_code", "city", "phone", "opening_hours")


def _view(obj: Bank | Branch, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def _full_clean(obj: Bank | Branch, *, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ValidationFailed({field: messages[0] for field, messages in exc.message_dict.items()}) from None


def _strip(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value.strip() if isinstance(value, str) else value for name, value in values.items()}


@transaction.atomic
def bank_create(*, actor: Actor, code: str, **values: Any) -> Bank:
    values = _strip(values)
    values["settlement_number"] = values.get("settlement_number") or None
    bank = Bank(code=(code or "").strip().upper(), **values)
    _full_clean(bank)
    try:
        with transaction.atomic():
            bank.save(force_insert=True)
    except IntegrityError:
        raise Conflict(_("A bank with this code or settlement number already exists.")) from None
    audit_record(
        actor=actor, action="banks.bank.created", obj=bank, after={"code": bank.code, **_view(bank, BANK_FIELDS)}
    )
    return bank


@transaction.atomic
def bank_update(*, actor: Actor, bank: Bank, **values: Any) -> Bank:
    bank = Bank.objects.select_for_update().get(pk=bank.pk)
    before = _view(bank, BANK_FIELDS)
    values = _strip(values)
    if "settlement_number" in values:
        values["settlement_number"] = values["settlement_number"] or None
    for name, value in values.items():
        if name not in BANK_FIELDS:
            raise ValueError(f"not a field a bank update may change: {name}")
        setattr(bank, name, value)
    _full_clean(bank)
    try:
        with transaction.atomic():
            bank.save()
    except IntegrityError:
        raise Conflict(_("A bank with this settlement number already exists.")) from None
    after = _view(bank, BANK_FIELDS)
    changed = {name for name in BANK_FIELDS if before[name] != after[name]}
    if changed:
        audit_record(
            actor=actor,
            action="banks.bank.updated",
            obj=bank,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
        )
    return bank


@transaction.atomic
def branch_create(*, actor: Actor, bank: Bank, **values: Any) -> Branch:
    branch = Branch(bank=bank, **_strip(values))
    _full_clean(branch, exclude=["bank"])
    try:
        with transaction.atomic():
            branch.save(force_insert=True)
    except IntegrityError:
        raise Conflict(_("The bank already has a branch with this name.")) from None
    audit_record(
        actor=actor,
        action="banks.branch.created",
        obj=branch,
        after={"bank": bank.code, **_view(branch, BRANCH_FIELDS)},
    )
    return branch


@transaction.atomic
def branch_update(*, actor: Actor, branch: Branch, **values: Any) -> Branch:
    branch = Branch.objects.select_for_update().get(pk=branch.pk)
    before = _view(branch, BRANCH_FIELDS)
    for name, value in _strip(values).items():
        if name not in BRANCH_FIELDS:
            raise ValueError(f"not a field a branch update may change: {name}")
        setattr(branch, name, value)
    _full_clean(branch, exclude=["bank"])
    try:
        with transaction.atomic():
            branch.save()
    except IntegrityError:
        raise Conflict(_("The bank already has a branch with this name.")) from None
    after = _view(branch, BRANCH_FIELDS)
    changed = {name for name in BRANCH_FIELDS if before[name] != after[name]}
    if changed:
        audit_record(
            actor=actor,
            action="banks.branch.updated",
            obj=branch,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
        )
    return branch
