"""The staff password policy [law: PCI DSS 8.3.6: at least 12 characters]."""

from __future__ import annotations

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from kartosfera.users.passwords import PASSWORD_MAX_LENGTH, _fold

STAFF_PASSWORD_MIN_LENGTH = 12


def validate_staff_password(password: str, *, username: str, full_name: str) -> None:
    """Raise ValidationError with every reason unless ``password`` is fit for a staff account."""
    errors: list[ValidationError] = []
    if len(password) < STAFF_PASSWORD_MIN_LENGTH:
        errors.append(
            ValidationError(
                ngettext_lazy(
                    "The password is too short: it needs at least %(min)d character.",
                    "The password is too short: it needs at least %(min)d characters.",
                    STAFF_PASSWORD_MIN_LENGTH,
                ),
                code="password_too_short",
                params={"min": STAFF_PASSWORD_MIN_LENGTH},
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
    folded = _fold(password)
    parts = [username, *full_name.replace("-", " ").split()]
    if any(len(p) >= 3 and _fold(p) in folded for p in parts):
        errors.append(
            ValidationError(_("The password must not contain the user name or the name."), code="password_personal")
        )
    if errors:
        raise ValidationError(errors)
