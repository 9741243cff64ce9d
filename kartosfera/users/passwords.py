"""The portal password policy, in one place for registration and the password-change page.

PRODUCT.md "Password" [law: ASVS 5.0 V6.2, NIST SP 800-63B; ours]: 10 to 128
characters, any characters (Polish letters, spaces, emoji), no composition
rules; refused when it is on Django's list of common passwords, when it
contains the customer's PESEL, bank-assigned ID, own login or name, or when it
equals the current password.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

if TYPE_CHECKING:
    from kartosfera.customers.models import Customer
    from kartosfera.users.models import User

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128
# A name shorter than this ("Li", "Ng") is part of too many ordinary words to refuse.
_MIN_NAME_PART = 3

PASSWORD_HELP_TEXT = _(
    "From 10 to 128 characters. Any characters are allowed, Polish letters and spaces too: "
    "a few words make a password that is easy to remember and hard to guess. It must not contain "
    "your PESEL, identification number, login or name."
)


def fold_text(value: str) -> str:
    """Lower case without diacritics, so that "Wiśniewski" is found in "wisniewski1985"."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ł", "l")


def _personal_parts(*, customer: Customer, user: User | None) -> list[str]:
    parts = [customer.pesel, customer.nonresident_id, customer.first_name, customer.last_name]
    if user is not None:
        parts.append(user.login)
    # Double-barrelled surnames ("Nowak-Kowalska") are refused part by part too.
    for name in (customer.first_name, customer.last_name):
        parts.extend((name or "").replace("-", " ").split())
    return [folded for part in parts if part and len(folded := fold_text(part)) >= _MIN_NAME_PART]


def length_and_common_errors(password: str, *, min_length: int) -> list[ValidationError]:
    """The rules every password shares (portal and staff): its length and Django's common-password list."""
    errors: list[ValidationError] = []
    if len(password) < min_length:
        errors.append(
            ValidationError(
                ngettext_lazy(
                    "The password is too short: it needs at least %(min)d character.",
                    "The password is too short: it needs at least %(min)d characters.",
                    min_length,
                ),
                code="password_too_short",
                params={"min": min_length},
            )
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        errors.append(
            ValidationError(
                _("The password is too long: it can have at most %(max)d characters."),
                code="password_too_long",
                params={"max": PASSWORD_MAX_LENGTH},
            )
        )
    try:
        CommonPasswordValidator().validate(password)
    except ValidationError:
        errors.append(
            ValidationError(
                _("This password is one of the most common ones and would be guessed easily."),
                code="password_too_common",
            )
        )
    return errors


def validate_portal_password(password: str, *, user: User | None = None, customer: Customer) -> None:
    """Raise ValidationError (all the reasons, translated) unless ``password`` meets the policy.

    ``user`` is the existing portal user, if any: its own login and current
    password are checked too. The password itself never appears in a message.
    """
    errors = length_and_common_errors(password, min_length=PASSWORD_MIN_LENGTH)
    folded = fold_text(password)
    if any(part in folded for part in _personal_parts(customer=customer, user=user)):
        errors.append(
            ValidationError(
                _("The password must not contain your PESEL, identification number, login or name."),
                code="password_personal",
            )
        )
    # hashers.check_password rather than user.check_password: the latter may
    # re-hash and save the password, and a validator must not write.
    if user is not None and user.has_usable_password() and check_password(password, user.password):
        errors.append(
            ValidationError(_("The new password must be different from the current one."), code="password_unchanged")
        )
    if errors:
        raise ValidationError(errors)
