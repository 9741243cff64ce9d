"""A pytest plugin: no log record of the test run may carry a card number or a secret the run knows.

Registered from the root conftest.py, for the whole session. A handler on the root logger sees every
record of every logger (django.request and the libraries' loggers too, down to DEBUG) and looks, in
the formatted message, the exception's traceback, the stack and every ``extra`` field, for:

- a card number: 13 to 19 digits (in groups split by spaces or dashes too) that pass the Luhn check;
- a secret the run knows: the settings' keys (SECRET_KEY, CARD_DATA_KEYS, CARD_FINGERPRINT_KEY,
  CARD_PIN_KEY, PIN_ENCRYPTION_KEY, ACS_AUTHENTICATION_KEY, METRICS_TOKEN and the outside services'
  credentials) and every secret the code made or was given during the test: SMS and activation
  codes, device activation codes, 3-D Secure challenge codes and tokens, API keys, PINs, passwords,
  staff TOTP keys and codes, staff enrolment link tokens.

The test that logged it fails (its setup, call or teardown: the phase that logged it), naming the
logger and the level and what was found, masked: a card number by its last four digits, a secret by
its kind and length, never the value.

The secrets are learnt without touching production code: every one of them is digested, hashed or
encrypted by a function of the code (an SMS code by sca.services._digest, a password by the password
hasher, a PIN by cards.pin._keyed_value...), and the plugin wraps those functions for the session so
that what they are given is registered, for the current test only.

What it leaves out, and why:
- ``django.db.backends``: SQL is logged only with DEBUG on (never in production, whose LOGGING keeps
  it at INFO) and holds what is stored: ciphertexts and digests, which are meant to be in the
  database; the logger stays at INFO, as configured.
- fontTools and weasyprint stay at INFO: their DEBUG records (thousands per statement PDF) describe
  fonts and layout, never data, and would only slow the run.
- what a child process logs (the browser and fault tests' servers): their logs are not this process's.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import re
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# Shorter values (a 3-digit number) would match too much by chance to mean anything.
MIN_SECRET_LENGTH = 4
# Loggers whose records are not inspected (see the module's docstring).
UNWATCHED_LOGGERS = ("django.db.backends",)
# Loggers kept at INFO although the root is at DEBUG (see the module's docstring).
QUIET_LOGGERS = ("fontTools", "weasyprint")
SETTINGS_SECRETS = (
    "SECRET_KEY",
    "CARD_FINGERPRINT_KEY",
    "ACS_AUTHENTICATION_KEY",
    "METRICS_TOKEN",
    "BLIK_SYSTEM_TOKEN",
)
# A run of 13-19 digits, in groups split by single spaces or dashes, not part of a longer number or word. No card
# number starts with 0 (ISO/IEC 7812's industry 0 issues none), and zeros are what a fuzzer sends most.
_PAN_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(?<![0-9][ -])[1-9](?:[ -]?[0-9]){12,18}(?![ -]?[0-9])(?![A-Za-z])")
_SEPARATORS = re.compile(r"[ -]")
# A UUID's groups are random hex digits: one of four digits only ("4e1a-2862-...") is a PIN's shape by chance.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_numbers_in(text: str) -> list[str]:
    """The Luhn-valid card numbers in ``text``, their separators removed."""
    found = []
    for match in _PAN_CANDIDATE.finditer(text):
        digits = _SEPARATORS.sub("", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(digits)
    return found


@dataclass(frozen=True)
class Finding:
    logger: str
    level: str
    what: str  # masked

    def __str__(self) -> str:
        return f"logger {self.logger!r} at {self.level}: {self.what}"


def _occurs(secret: str, text: str) -> bool:
    """Whether ``secret`` is in ``text``; a secret of digits only as a word of its own, not inside a longer number
    or a hex id (a 4-digit PIN is in many a UUID: ``c89c2862-abe4``, ``0b1e-2862-4a5f``)."""
    if not secret.isdigit():
        return secret in text
    text = _UUID.sub("-", text)
    start = text.find(secret)
    while start >= 0:
        end = start + len(secret)
        if (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            return True
        start = text.find(secret, start + 1)
    return False


def _settings_secrets() -> Iterator[tuple[str, str]]:
    from django.conf import settings

    if not settings.configured:
        return
    for name in SETTINGS_SECRETS:
        yield str(getattr(settings, name, "") or ""), name
    # The key lists, newest first: every key of each (CARD_PIN_KEYS and PIN_ENCRYPTION_KEYS are read from the
    # CARD_PIN_KEY and PIN_ENCRYPTION_KEY variables).
    for name in ("CARD_DATA_KEYS", "CARD_PIN_KEYS", "PIN_ENCRYPTION_KEYS"):
        for key in getattr(settings, name, ()):
            yield key, name
    for name, option in (("SMS_BACKEND_OPTIONS", "password"), ("TOKEN_SERVICE_BACKEND_OPTIONS", "api_key")):
        yield str(getattr(settings, name, {}).get(option) or ""), f"{name}[{option}]"


class LogGuard(logging.Handler):
    """The handler on the root logger, and the plugin's hooks (one instance per session)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.secrets: dict[str, str] = {}  # value → kind, for the current test
        self.findings: list[Finding] = []
        self._formatter = logging.Formatter()

    # --- what a test's secrets are ---------------------------------------------------------------------
    def register(self, value: object, kind: str) -> None:
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("ascii", "replace")
        text = str(value).strip() if value is not None else ""
        # One character repeated ("0000") is a value no PIN or code rule allows, what tests type as a wrong one, and
        # in many a log line by chance (a "+0000" time zone offset): it would fail tests for nothing.
        if len(text) >= MIN_SECRET_LENGTH and len(set(text)) > 1:
            self.secrets.setdefault(text, kind)

    # --- what a record shows -------------------------------------------------------------------------
    def _text(self, record: logging.LogRecord) -> str:
        try:
            parts = [record.getMessage()]
        except Exception:  # a malformed call: what it was given
            parts = [str(record.msg), repr(record.args)]
        if record.exc_info:
            parts.append(record.exc_text or "".join(traceback.format_exception(*record.exc_info)))
        elif record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        parts += [f"{name}={value}" for name, value in vars(record).items() if name not in _RECORD_FIELDS]
        return "\n".join(parts)

    def inspect(self, record: logging.LogRecord) -> list[Finding]:
        """What ``record`` must not show (masked), if anything."""
        if record.name.startswith(UNWATCHED_LOGGERS):
            return []
        text = self._text(record)
        found = [f"a card number ending {pan[-4:]}" for pan in card_numbers_in(text)]
        for secret, kind in (*self.secrets.items(), *_settings_secrets()):
            if len(secret) >= MIN_SECRET_LENGTH and _occurs(secret, text):
                found.append(f"{kind} ({len(secret)} characters)")
        return [Finding(logger=record.name, level=record.levelname, what=what) for what in found]

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.findings += self.inspect(record)
        except Exception:  # never break the code under test; say so instead
            self.findings.append(Finding(record.name, record.levelname, "a record the guard could not read"))

    # --- the pytest hooks ------------------------------------------------------------------------------
    def _attach(self) -> None:
        root = logging.getLogger()
        if self not in root.handlers:  # a test may have run dictConfig again
            root.addHandler(self)
        if root.level > logging.DEBUG or root.level == logging.NOTSET:
            configured = root.level or logging.WARNING
            for handler in root.handlers:
                if handler is not self and handler.level == logging.NOTSET:
                    handler.setLevel(configured)  # what the other handlers showed, they still show
            root.setLevel(logging.DEBUG)
            for name in QUIET_LOGGERS:
                logging.getLogger(name).setLevel(max(logging.getLogger(name).level, logging.INFO))

    def _phase(self, item: pytest.Item, when: str) -> Iterator[None]:
        self._attach()
        self.findings = []
        failed = True
        try:
            yield
            failed = False
        finally:
            found, self.findings = self.findings, []
            if found:
                report = "\n".join(f"  {finding}" for finding in dict.fromkeys(found))
                message = f"log guard: {item.nodeid} ({when}) logged what no log may hold:\n{report}"
                if failed:  # the phase fails anyway: add the guard's finding to its report
                    item.add_report_section(when, "log guard", message)
                else:
                    pytest.fail(message, pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        self.secrets = {}
        yield from self._phase(item, "setup")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        yield from self._phase(item, "call")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        yield from self._phase(item, "teardown")


_guard: LogGuard | None = None
_restore: list[Callable[[], None]] = []


def register_secret(value: object, kind: str) -> None:
    """Tell the guard of a secret (for the current test): no log may show it."""
    if _guard is not None:
        _guard.register(value, kind)


def _wrap(owner: Any, name: str, kind: str, pick: Callable[..., Iterable[object]]) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for value in pick(*args, **kwargs):
            register_secret(value, kind)
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)
    _restore.append(lambda: setattr(owner, name, original))


def _totp_key_forms(key: str) -> list[str]:
    try:
        return [key, base64.b32encode(binascii.unhexlify(key)).decode().rstrip("=")]
    except (binascii.Error, ValueError):
        return [key]


def _install_wrappers() -> None:
    """Wrap the functions every secret of the code passes through, so that the guard learns each one."""
    from django.contrib.auth import hashers
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from kartosfera.acs import challenge
    from kartosfera.api import services as api_services
    from kartosfera.backoffice import accounts as staff_accounts
    from kartosfera.cards import pin
    from kartosfera.devices import services as device_services
    from kartosfera.sca import services as sca_services

    _wrap(sca_services, "_digest", "SMS or activation code", lambda challenge, code: [code, code.replace(" ", "")])
    _wrap(challenge, "_code_digest", "3-D Secure SMS code", lambda record, code: [code])
    _wrap(challenge, "_token_digest", "3-D Secure challenge token", lambda record, token: [token])
    _wrap(device_services, "_code_digest", "device activation code", lambda customer_id, code: [code])
    _wrap(api_services, "_hash_secret", "API key", lambda secret: [secret])
    _wrap(staff_accounts, "_digest", "staff enrolment link token", lambda token: [token])
    _wrap(pin, "_keyed_value", "PIN", lambda label, *fields, **kwargs: fields[-1:])
    for hasher in {hashers.get_hasher(algorithm).__class__ for algorithm in ("default", *_hasher_algorithms())}:
        _wrap(hasher, "encode", "password", lambda self, password, *args, **kwargs: [password])
        _wrap(hasher, "verify", "password", lambda self, password, *args, **kwargs: [password])
    _wrap(
        TOTPDevice,
        "verify_token",
        "staff TOTP code or key",
        lambda self, token: [str(token), *_totp_key_forms(self.key)],
    )
    key_field = TOTPDevice._meta.get_field("key")
    make_key = key_field.default

    def key_default() -> str:
        key = make_key()
        for form in _totp_key_forms(key):
            register_secret(form, "staff TOTP key")
        return key

    key_field.default = key_default
    _restore.append(lambda: setattr(key_field, "default", make_key))


def _hasher_algorithms() -> list[str]:
    from django.contrib.auth.hashers import get_hashers

    return [hasher.algorithm for hasher in get_hashers() if hasher.algorithm]


def pytest_configure(config: pytest.Config) -> None:
    global _guard
    _guard = LogGuard()
    config.pluginmanager.register(_guard, "kartosfera-log-guard")


def pytest_sessionstart(session: pytest.Session) -> None:
    from django.conf import settings

    if settings.configured:
        _install_wrappers()


def pytest_unconfigure(config: pytest.Config) -> None:
    global _guard
    while _restore:
        _restore.pop()()
    if _guard is not None:
        logging.getLogger().removeHandler(_guard)
        config.pluginmanager.unregister(_guard)
    _guard = None
