from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kartosfera.banks.models import Bank
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import Conflict, ValidationFailed
from kartosfera.customers.identity import (
    mask_phone,
    normalize_phone,
    pesel_birth_date,
    validate_birth_date,
    validate_pesel,
)
from kartosfera.customers.models import REPORTED_FIELDS, BankMembership, Customer, Residency

UPDATABLE_FIELDS = ("first_name", "last_name", "phone_on_file", "nonresident_id", "birth_date")


def _audit_view(customer: Customer) -> dict[str, Any]:
    """What the audit may keep of a customer: no full phone number or PESEL."""
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "residency": customer.residency,
        "phone_on_file": mask_phone(customer.phone_on_file),
        "nonresident_id": customer.nonresident_id,
        "birth_date": customer.birth_date.isoformat() if customer.birth_date else None,
    }


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned = dict(values)
    for name in ("first_name", "last_name"):
        if name in cleaned:
            cleaned[name] = (cleaned[name] or "").strip()
            if not cleaned[name]:
                errors[name] = _("This field is required.")
    if cleaned.get("phone_on_file"):
        try:
            cleaned["phone_on_file"] = normalize_phone(cleaned["phone_on_file"])
        except ValidationError as exc:
            errors["phone_on_file"] = exc.messages[0]
    elif "phone_on_file" in cleaned:
        cleaned["phone_on_file"] = None
    if "nonresident_id" in cleaned:
        cleaned["nonresident_id"] = (cleaned["nonresident_id"] or "").strip().upper() or None
    if cleaned.get("birth_date") is not None:
        try:
            validate_birth_date(cleaned["birth_date"])
        except ValidationError as exc:
            errors["birth_date"] = exc.messages[0]
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    bank: Bank,
    reference: str,
    residency: str,
    first_name: str,
    last_name: str,
    pesel: str | None = None,
    nonresident_id: str | None = None,
    birth_date: dt.date | None = None,
    phone_on_file: str | None = None,
) -> Customer:
    """Register a person as a customer of ``bank`` under the bank's own number ``reference``.

    A person is one customer group-wide: when another bank of the group already knows the person
    (the same PESEL, or the same identification number), the bank gets a membership of that person,
    whose names and phone on file take the values this bank sent (the newest the group knows), and
    the answer is the same as for a new person, so that a bank learns nothing of another bank's
    customers (Prawo bankowe art. 104). PESEL and phone are validated.
    """
    values = _clean(
        {
            "first_name": first_name,
            "last_name": last_name,
            "phone_on_file": phone_on_file,
            "nonresident_id": nonresident_id,
            "birth_date": birth_date,
        }
    )
    birth_date = values.pop("birth_date")
    if residency == Residency.RESIDENT:
        try:
            pesel = validate_pesel(pesel or "")
        except ValidationError as exc:
            raise ValidationFailed({"pesel": exc.messages[0]}) from None
        encoded = pesel_birth_date(pesel)
        if birth_date is not None and birth_date != encoded:
            raise ValidationFailed({"birth_date": _("The birth date does not match the PESEL.")})
        birth_date = encoded
    elif residency == Residency.NON_RESIDENT:
        if pesel:
            raise ValidationFailed({"pesel": _("A non-resident is identified by the bank's number, not a PESEL.")})
        pesel = None
    else:
        raise ValidationFailed({"residency": _("Choose resident or non-resident.")})
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed({"reference": _("This field is required.")})
    if BankMembership.objects.filter(bank=bank, customer_number=reference).exists():
        raise Conflict(_("A customer with this reference already exists."))
    person = _person_known_to_the_group(residency=residency, pesel=pesel, nonresident_id=values["nonresident_id"])
    if person is not None:
        if BankMembership.objects.filter(bank=bank, customer=person).exists():
            raise Conflict(_("A customer with this PESEL or identification number already exists."))
        return _join(
            actor=actor, bank=bank, person=person, reference=reference, values={**values, "birth_date": birth_date}
        )
    # The user model through AUTH_USER_MODEL: customers is below users, which imports it (docs/architecture.md).
    if values["nonresident_id"] and get_user_model().objects.filter(login__iexact=values["nonresident_id"]).exists():
        # Cardholders sign in with their ID or their own login: one value must never mean two people.
        raise Conflict(_("This identification number is already a portal user's own login."))
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                reference=_group_reference(bank, reference),
                residency=residency,
                pesel=pesel,
                birth_date=birth_date,
                **values,
            )
            membership = BankMembership.objects.create(
                customer=customer,
                bank=bank,
                customer_number=reference,
                reported=_reported({**values, "birth_date": birth_date}),
            )
    except IntegrityError:
        # Lost a race with a concurrent create of the same customer.
        raise Conflict(_("A customer with this reference already exists.")) from None
    audit_record(
        actor=actor,
        action="customers.customer.created",
        obj=customer,
        customer_id=customer.pk,
        bank_id=bank.pk,
        after={"reference": reference, "bank": bank.code, **_audit_view(customer)},
    )
    _audit_membership(actor, membership)
    return customer


def _person_known_to_the_group(*, residency: str, pesel: str | None, nonresident_id: str | None) -> Customer | None:
    if residency == Residency.RESIDENT and pesel:
        return Customer.objects.select_for_update().filter(pesel=pesel).first()
    if nonresident_id:
        return Customer.objects.select_for_update().filter(nonresident_id=nonresident_id).first()
    return None


def _group_reference(bank: Bank, reference: str) -> str:
    """The person's group-wide reference: the bank's number when no one has it yet, else made unique by the bank.

    Internal only (never in an API answer or a page), so its choice tells no bank anything.
    """
    if not Customer.objects.filter(reference=reference).exists():
        return reference
    candidate = f"{bank.code}/{reference}"[:64]
    return candidate if not Customer.objects.filter(reference=candidate).exists() else uuid.uuid4().hex


def _join(*, actor: Actor, bank: Bank, person: Customer, reference: str, values: dict[str, Any]) -> Customer:
    """Make a person another bank already knows a customer of ``bank`` too, with this bank's data."""
    try:
        with transaction.atomic():
            membership = BankMembership.objects.create(
                customer=person, bank=bank, customer_number=reference, reported=_reported(values)
            )
    except IntegrityError:
        raise Conflict(_("A customer with this reference already exists.")) from None
    _audit_membership(actor, membership)
    # The person's record takes what this bank sent (the newest the group knows); what it did not send
    # stays as another bank reported it, and this bank's answers show only its own (membership.reported).
    changes = {name: value for name, value in values.items() if name in UPDATABLE_FIELDS and value}
    return customer_update(actor=actor, customer=person, **changes) if changes else person


def _reported(values: dict[str, Any]) -> dict[str, Any]:
    reported = {name: values.get(name) for name in REPORTED_FIELDS}
    if isinstance(reported["birth_date"], dt.date):
        reported["birth_date"] = reported["birth_date"].isoformat()
    return reported


def _audit_membership(actor: Actor, membership: BankMembership) -> None:
    audit_record(
        actor=actor,
        action="customers.membership.created",
        obj=membership,
        customer_id=membership.customer_id,
        after={"bank": membership.bank.code, "reference": membership.customer_number},
    )


@transaction.atomic
def customer_update(*, actor: Actor, customer: Customer, bank: Bank | None = None, **changes: Any) -> Customer:
    """Change a customer's names, phone on file, identification number or birth date.

    ``bank``: the bank whose systems report the change; what it reads back of the person
    (its membership's ``reported``) follows.
    """
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationFailed({name: _("This field cannot be changed.") for name in sorted(unknown)})
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    cleaned = _clean(changes)
    if (
        "birth_date" in cleaned
        and customer.residency == Residency.RESIDENT
        and cleaned["birth_date"] != pesel_birth_date(customer.pesel or "")
    ):
        raise ValidationFailed({"birth_date": _("The birth date does not match the PESEL.")})
    nonresident_id = cleaned.get("nonresident_id")
    if nonresident_id and Customer.objects.filter(nonresident_id=nonresident_id).exclude(pk=customer.pk).exists():
        raise Conflict(_("A customer with this identification number already exists."))
    if nonresident_id and get_user_model().objects.filter(login__iexact=nonresident_id).exists():
        # Cardholders sign in with their ID or their own login: one value must never mean two people.
        raise Conflict(_("This identification number is already a portal user's own login."))
    if bank is not None:
        membership = BankMembership.objects.select_for_update().filter(customer=customer, bank=bank).first()
        if membership is not None:
            membership.reported = {**membership.reported, **_reported({**membership.reported, **cleaned})}
            membership.save(update_fields=["reported", "updated_at"])
    before = _audit_view(customer)
    for name, value in cleaned.items():
        setattr(customer, name, value)
    after = _audit_view(customer)
    changed = {k for k in after if after[k] != before[k]}
    if not changed:
        return customer
    customer.save()
    audit_record(
        actor=actor,
        action="customers.customer.updated",
        obj=customer,
        customer_id=customer.pk,
        before={k: before[k] for k in sorted(changed)},
        after={k: after[k] for k in sorted(changed)},
    )
    return customer


@transaction.atomic
def customer_conversion_charge_sms_set(*, actor: Actor, customer: Customer, enabled: bool) -> Customer:
    """Switch the CBPR2 text message about currency conversion charges on or off (the payer's opt-out).

    No SMS confirmation: the message only informs, and switching it either way puts nothing at
    risk. Audited only when it changes.
    """
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.conversion_charge_sms != enabled:
        before = locked.conversion_charge_sms
        locked.conversion_charge_sms = enabled
        locked.save(update_fields=["conversion_charge_sms", "updated_at"])
        audit_record(
            actor=actor,
            action="customers.conversion_charge_sms.changed",
            obj=locked,
            customer_id=locked.pk,
            before={"enabled": before},
            after={"enabled": enabled},
        )
    return locked
