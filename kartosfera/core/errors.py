"""Domain errors raised by services and mapped to user messages in one place."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A business rule refused the operation; ``message`` is safe to show the user."""

    default_message = _("The operation is not allowed.")
    code = "domain_error"

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = str(message or self.default_message)
        if code:
            self.code = code
        super().__init__(self.message)


class InvalidTransition(DomainError):
    default_message = _("This change of state is not allowed.")
    code = "invalid_transition"


class Conflict(DomainError):
    default_message = _("The object already exists.")
    code = "conflict"


class ValidationFailed(DomainError):
    """Input broke a rule; ``field_errors`` maps field names to messages."""

    default_message = _("The data is not valid.")
    code = "validation_failed"

    def __init__(self, field_errors: dict[str, str], message: str | None = None) -> None:
        self.field_errors = {field: str(msg) for field, msg in field_errors.items()}
        super().__init__(message)
