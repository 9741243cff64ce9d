"""The portal password policy, in one place for registration and the password-change page.

PRODUCT.md "Password" [law: ASVS 5.0 V6.2, NIST SP 800-63B; ours]: 10 to 128
characters, any characters (Polish letters, spaces, emoji), no composition
rules; refused when it is on Django's list of common passwords or has appeared
in a data breach (the Pwned Passwords service, users/pwned.py), when it
contains the customer's PESEL, bank-assigned ID, own login or name, a
context-specific word (the product's or a bank's name: ``context_words``,
listed in docs/access.md), or when it equals the current password.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from kartosfera.banks.models import Bank
from kartosfera.users.pwned import breached_password_errors

if TYPE_CHECKING:
    from kartosfera.customers.models import Customer
    from kartosfera.users.models import User

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128
# A name shorter than this ("Li", "Ng") is part of too many ordinary words to refuse.
_MIN_NAME_PART = 3
# Context-specific words [ASVS 5.0 6.1.2, 6.2.11; NIST SP 800-63B 5.1.1.2]: a guesser who knows where a password
# is used tries the service's names first. The product's own names; docs/access.md "Password policy" lists them
# (a test keeps the two equal). Each bank's code and short name are added from the banks table (``context_words``).
CONTEXT_WORDS = ("kartosfera", "bspay", "backoffice")
# Words of a bank's name or code too generic to refuse in every password ("Bank Spółdzielczy", the code "BANK").
_GENERIC_BANK_WORDS = frozenset({"bank", "banku", "banki", "spoldzielczy", "spoldzielczego", "bs"})
_MIN_CONTEXT_WORD = 4
# Look-alike characters folded back to letters, so that "K4rt0sf3ra" is found too.
_LOOKALIKES = str.maketrans({"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s", "7": "t"})
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")

PASSWORD_HELP_TEXT = _(
    "From 10 to 128 characters. Any characters are allowed, Polish letters and spaces too: "
    "a few words make a password that is easy to remember and hard to guess. It must not contain "
    "your PESEL, identification number, login or name."
)


def fold_text(value: str) -> str:
    """Lower case without diacritics, so that "Wiśniewski" is found in "wisniewski1985"."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ł", "l")


def context_words() -> list[str]:
    """The context-specific words no password may contain: ``CONTEXT_WORDS`` and each bank's code and short name."""
    words = set(CONTEXT_WORDS)
    for code, short_name in Bank.objects.values_list("code", "short_name"):
        for value in (code, short_name, *short_name.split()):
            folded = _NOT_LETTER_OR_DIGIT.sub("", fold_text(value))
            if len(folded) >= _MIN_CONTEXT_WORD and folded not in _GENERIC_BANK_WORDS:
                words.add(folded)
    return sorted(words)


def context_word_errors(password: str) -> list[ValidationError]:
    """The refusal when ``password`` contains a context-specific word, spaces, separators and look-alikes ignored."""
    squeezed = _NOT_LETTER_OR_DIGIT.sub("", fold_text(password))
    variants = {squeezed, _NOT_LETTER_OR_DIGIT.sub("", fold_text(password).translate(_LOOKALIKES))}
    if any(word in variant for word in context_words() for variant in variants):
        return [
            ValidationError(
                _("The password must not contain the name of Kartosfera, BS Pay or a bank."), code="password_context"
            )
        ]
    return []


def _personal_parts(*, customer: Customer, user: User | None) -> list[str]:
    parts = [customer.pesel, customer.nonresident_id, customer.first_name, customer.last_name]
    if user is not None:
        parts.append(user.login)
    # Double-barrelled surnames ("Nowak-Kowalska") are refused part by part too.
    for name in (customer.first_name, customer.last_name):
        parts.extend((name or "").replace("-", " ").split())
    return [folded for part in parts if part and len(folded := fold_text(part)) >= _MIN_NAME_PART]


def length_and_common_errors(password: str, *, min_length: int) -> list[ValidationError]:
    """The rules every password shares (portal and staff): its length, Django's common-password list, and the
    breached passwords of the Pwned Passwords service (users/pwned.py), asked only about a password that passed
    the other two: a short or common one is refused anyway, and need not leave even as a hash prefix."""
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
    if not errors:
        errors.extend(breached_password_errors(password))
    return errors


def validate_portal_password(password: str, *, user: User | None = None, customer: Customer) -> None:
    """Raise ValidationError (all the reasons, translated) unless ``password`` meets the policy.

    ``user`` is the existing portal user, if any: its own login and current
    password are checked too. The password itself never appears in a message.
    """
    errors = length_and_common_errors(password, min_length=PASSWORD_MIN_LENGTH)
    errors.extend(context_word_errors(password))
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
