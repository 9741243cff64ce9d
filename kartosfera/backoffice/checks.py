"""The back office's address, which every staff enrolment link sent by SMS begins with (BACKOFFICE_BASE_URL)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

# The longest address the enrolment SMS has room for: its words, the path and the 43-character token take the
# rest of one 160-character segment (backoffice/sms_texts.py; notifications/tests/test_sms_texts.py renders it).
BACKOFFICE_BASE_URL_MAX_LENGTH = 44


def _address_problem(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "must be an http:// or https:// address, e.g. https://zaplecze.bank.example"
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username or parts.password:
        return "must be the scheme and host alone: no path, query or credentials"
    if len(value) > BACKOFFICE_BASE_URL_MAX_LENGTH:
        return (
            f"has {len(value)} characters, more than the {BACKOFFICE_BASE_URL_MAX_LENGTH} the enrolment SMS has "
            "room for"
        )
    return ""


@register()
def backoffice_base_url_check(**kwargs: Any) -> list[CheckMessage]:
    """A malformed address would send every staff enrolment link to nowhere: stop at `check`, not at the SMS."""
    value = settings.BACKOFFICE_BASE_URL
    problem = _address_problem(value) if value else ""
    if not problem:
        return []
    return [Error(f"BACKOFFICE_BASE_URL {problem}", hint="see docs/configuration.md", id="backoffice.E001")]


@register(Tags.security, deploy=True)
def backoffice_base_url_deploy_check(**kwargs: Any) -> list[CheckMessage]:
    """Production sends the enrolment links over https only: a link is a credential until it is used."""
    value = settings.BACKOFFICE_BASE_URL
    if value and urlsplit(value).scheme == "https":
        return []
    return [
        Error(
            "BACKOFFICE_BASE_URL must be set to the back office's https:// address in production: staff enrolment "
            "links are sent by SMS with it [ASVS 5.0 6.4.6]",
            hint="e.g. BACKOFFICE_BASE_URL=https://zaplecze.bank.example; see docs/configuration.md",
            id="backoffice.E002",
        )
    ]
