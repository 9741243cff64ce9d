from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def breached_passwords_check(**kwargs: Any) -> list[CheckMessage]:
    """Production chose PWNED_PASSWORDS_URL=off: say so where CI and the deploy look (`check --deploy`)."""
    if settings.PWNED_PASSWORDS_URL != "off":
        return []
    return [
        Warning(
            "PWNED_PASSWORDS_URL=off: new passwords are not checked against breached passwords [ASVS 5.0 6.2.12]",
            hint="set it to https://api.pwnedpasswords.com or to the address of the bank's mirror of its range API "
            "(docs/configuration.md)",
            id="users.W001",
        )
    ]
