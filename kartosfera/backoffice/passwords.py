"""The staff password policy [law: PCI DSS 8.3.6: at least 12 characters]."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kartosfera.users.passwords import context_word_errors, fold_text, length_and_common_errors

STAFF_PASSWORD_MIN_LENGTH = 12


def validate_staff_password(password: str, *, username: str, full_name: str) -> None:
    """Raise ValidationError with every reason unless ``password`` is fit for a staff account."""
    errors = length_and_common_errors(password, min_length=STAFF_PASSWORD_MIN_LENGTH)
    errors.extend(context_word_errors(password))
    folded = fold_text(password)
    parts = [username, *full_name.replace("-", " ").split()]
    if any(len(p) >= 3 and fold_text(p) in folded for p in parts):
        errors.append(
            ValidationError(_("The password must not contain the user name or the name."), code="password_personal")
        )
    if errors:
        raise ValidationError(errors)
