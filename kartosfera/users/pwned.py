"""Breached passwords [ASVS 5.0 6.2.4, 6.2.12]: the Pwned Passwords range API, by k-anonymity.

Every new password, the portal's and the staff's, is looked up in the Pwned Passwords corpus (hundreds of
millions of passwords from real breaches, far beyond Django's list of ~20,000 common ones): a GET of
``<PWNED_PASSWORDS_URL>/range/<the first 5 hex characters of its SHA-1>`` answers the suffixes of every
breached hash with that prefix (``SUFFIX:COUNT`` lines; ``Add-Padding: true`` adds decoys with count 0, so
that the answer's size says nothing either), and the password is breached when its own suffix is among them
with a count above 0. Only those 5 characters leave: neither the password nor its full hash.

Fail open: when the service is off, unreachable, slow or answers nonsense, the password is let through
(registration must not stop because a third party is down), with a warning log (never the password, its
hash or the prefix) and ``kartosfera_breached_password_checks_total{result}`` counted. After a failure
the process does not call again for ``BACKOFF_SECONDS``, so an outage costs one timeout a minute per
process, not one per password. Only the standard library is used (urllib.request, as the SMS gateway's
backend); ``https_proxy`` is honoured for a bank's outbound proxy.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kartosfera.users.metrics import BREACHED_PASSWORD_CHECKS

logger = logging.getLogger(__name__)

OFF = "off"
PREFIX_LENGTH = 5
# A padded answer has 800 to 1,000 lines of 40 bytes or so; anything far larger is not this API.
MAX_ANSWER_BYTES = 512 * 1024
BACKOFF_SECONDS = 60.0
_LINE = re.compile(r"[0-9A-F]{35}:[0-9]+")

# The base address -> time.monotonic() of its last failure (this process's; tests clear it).
failures: dict[str, float] = {}
_failures_lock = threading.Lock()


class _Unchecked(Exception):
    def __init__(self, result: str, detail: str) -> None:
        super().__init__(detail)
        self.result = result


def range_url(base: str, prefix: str) -> str:
    return f"{base.rstrip('/')}/range/{prefix}"


def _fetch(base: str, prefix: str) -> str:
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked in settings)
        range_url(base, prefix),
        headers={"Add-Padding": "true", "User-Agent": "Kartosfera-PwnedPasswords/1", "Accept": "text/plain"},
    )
    timeout = settings.PWNED_PASSWORDS_TIMEOUT
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            answer: bytes = response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise _Unchecked("http_error", f"HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _Unchecked("timeout", f"no answer within {timeout:g} s") from None
        raise _Unchecked("unreachable", type(exc.reason).__name__) from None
    except TimeoutError:
        raise _Unchecked("timeout", f"no answer within {timeout:g} s") from None
    except (http.client.HTTPException, OSError) as exc:
        raise _Unchecked("unreachable", type(exc).__name__) from None
    if len(answer) > MAX_ANSWER_BYTES:
        raise _Unchecked("bad_answer", "answer too large")
    try:
        text = answer.decode("ascii")
    except UnicodeDecodeError:
        raise _Unchecked("bad_answer", "not ASCII") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # An HTML error page a proxy answered with 200 must not pass for "not breached".
    if not lines or not all(_LINE.fullmatch(line.upper()) for line in lines):
        raise _Unchecked("bad_answer", "not the range format")
    return text


def password_breached(password: str) -> bool | None:
    """Whether ``password`` is in the breach corpus: True, False, or None when it could not be checked."""
    base: str = settings.PWNED_PASSWORDS_URL
    if base == OFF:
        return None
    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    prefix, suffix = digest[:PREFIX_LENGTH], digest[PREFIX_LENGTH:]
    with _failures_lock:
        failed_at = failures.get(base)
    try:
        if failed_at is not None and time.monotonic() - failed_at < BACKOFF_SECONDS:
            raise _Unchecked("skipped", f"the service failed less than {BACKOFF_SECONDS:g} s ago")
        answer = _fetch(base, prefix)
    except _Unchecked as exc:
        if exc.result != "skipped":
            with _failures_lock:
                failures[base] = time.monotonic()
        BREACHED_PASSWORD_CHECKS.labels(exc.result).inc()
        # Neither the password, nor its hash, nor the prefix: the service's host and what went wrong.
        logger.warning(
            "breached-password check not made, the password was accepted unchecked",
            extra={"result": exc.result, "error": str(exc), "service": urlsplit(base).hostname},
        )
        return None
    with _failures_lock:
        failures.pop(base, None)
    breached = False
    for line in answer.splitlines():
        candidate, _sep, count = line.strip().partition(":")
        if candidate.upper() == suffix and int(count) > 0:  # count 0: a padding decoy
            breached = True
            break
    BREACHED_PASSWORD_CHECKS.labels("breached" if breached else "clean").inc()
    return breached


def breached_password_errors(password: str) -> list[ValidationError]:
    """The refusal when ``password`` appeared in a data breach; none when it did not or could not be checked."""
    if password_breached(password):
        return [
            ValidationError(
                _("This password has appeared in a data breach; choose another one."), code="password_breached"
            )
        ]
    return []


class BreachedPasswordValidator:
    """The same check for Django's AUTH_PASSWORD_VALIDATORS (``manage.py changepassword``, ``createsuperuser``)."""

    def validate(self, password: str, user: Any = None) -> None:
        errors = breached_password_errors(password)
        if errors:
            raise ValidationError(errors)

    def get_help_text(self) -> str:
        return str(_("Your password must not have appeared in a data breach."))
