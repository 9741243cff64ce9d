from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def sms_backend_check(**kwargs: Any) -> list[CheckMessage]:
    """Build the configured SMS backend once, so that a bad gateway URL stops `check --deploy`, not the first SMS."""
    from kartosfera.notifications.backends import get_sms_backend

    try:
        get_sms_backend()
    except (ImproperlyConfigured, ImportError, TypeError) as exc:
        return [Error(f"the SMS backend cannot be built: {exc}", hint="see docs/sms.md", id="notifications.E001")]
    return []
