"""What the settings pages show of the cardholder's own data: masked, never in full."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kartosfera.customers.identity import mask_phone
from kartosfera.notices.selectors import decline_sms_enabled
from kartosfera.users.models import User


def mask_identifier(value: str | None, *, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters: 85031410128 → 85******128."""
    if not value:
        return ""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


@dataclass(frozen=True)
class PersonalData:
    full_name: str
    pesel: str
    nonresident_id: str
    birth_date: dt.date | None
    phone_on_file: str
    portal_phone: str
    portal_phone_is_own: bool
    login: str
    password_changed_at: dt.datetime | None
    # The CBPR2 message about currency conversion charges (the cardholder may switch it off).
    conversion_charge_sms: bool
    # Text messages about payments declined by the holder's own settings (kartosfera/notices/).
    decline_sms: bool


def personal_data_for_user(*, user: User) -> PersonalData:
    """The signed-in cardholder's personal data, masked for the screen."""
    customer = user.customer
    if customer is None:
        raise ValueError("personal data exists only for cardholders")
    return PersonalData(
        full_name=customer.full_name,
        pesel=mask_identifier(customer.pesel, head=2, tail=3),
        nonresident_id=mask_identifier(customer.nonresident_id, head=2, tail=2),
        birth_date=customer.birth_date,
        phone_on_file=mask_phone(customer.phone_on_file),
        # Without a portal phone of its own, codes go to the phone on file.
        portal_phone=mask_phone(user.portal_phone or customer.phone_on_file),
        portal_phone_is_own=bool(user.portal_phone),
        login=user.login or "",
        password_changed_at=user.password_changed_at,
        conversion_charge_sms=customer.conversion_charge_sms,
        decline_sms=decline_sms_enabled(customer=customer),
    )
