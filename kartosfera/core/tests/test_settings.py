"""Production refuses to start without its secrets; this runs real interpreters."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from kartosfera.testing.production import PRODUCTION, production_start

ROOT = Path(__file__).resolve().parents[3]
_start = production_start


def test_production_starts_with_everything_set():
    result = _start(PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "CARD_DATA_KEYS",
        "CARD_FINGERPRINT_KEY",
        "CARD_PIN_KEY",
        "PIN_ENCRYPTION_KEY",
        "ACS_AUTHENTICATION_KEY",
        "SMS_GATEWAY_URL",
        "TOKEN_SERVICE_URL",
        "PWNED_PASSWORDS_URL",
        "ACS_DIRECTORY_SERVER_URL",
        "BLIK_SYSTEM_URL",
        "REDIS_URL",
        "CLAMD_ADDRESS",
        "DATABASE_URL",
        "NBP_REFERENCE_RATE_PERCENT",
        "NBP_REFERENCE_RATE_SINCE",
    ],
)
def test_production_refuses_to_start_without(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = _start(env)
    assert result.returncode != 0
    assert f"{missing} must be set in production" in result.stderr


@pytest.mark.parametrize("size", [16, 24, 32])
def test_production_takes_a_pin_encryption_key_of_each_aes_size(size):
    result = _start({**PRODUCTION, "PIN_ENCRYPTION_KEY": base64.b64encode(b"k" * size).decode()})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (base64.b64encode(b"k" * 20).decode(), "PIN_ENCRYPTION_KEY must be base64 of 16, 24 or 32 random bytes"),
        (base64.b64encode(b"k" * 64).decode(), "PIN_ENCRYPTION_KEY must be base64 of 16, 24 or 32 random bytes"),
        ("k" * 43 + "!", "PIN_ENCRYPTION_KEY must be base64"),
        # The development default is public: production wants a key of its own.
        ("ZGV2LW9ubHktcGluLWVuY3J5cHRpb24ta2V5LTAwMDA=", "PIN_ENCRYPTION_KEY must be set in production to a key of"),
    ],
)
def test_production_refuses_a_pin_encryption_key_that_is_not_an_aes_key_of_its_own(value, message):
    result = _start({**PRODUCTION, "PIN_ENCRYPTION_KEY": value})
    assert result.returncode != 0
    assert message in result.stderr
    assert value not in result.stderr


def test_production_refuses_the_development_acs_authentication_key():
    # The development default is public: anyone could mint authentication values with it.
    result = _start({**PRODUCTION, "ACS_AUTHENTICATION_KEY": "dev-only-acs-authentication-key-0000000000"})
    assert result.returncode != 0
    assert "ACS_AUTHENTICATION_KEY must be set in production to a key of its own" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CLAMD_ADDRESS", "", "CLAMD_ADDRESS must be set in production"),
        ("CLAMD_ADDRESS", "127.0.0.1:3310", "CLAMD_ADDRESS: the address must be tcp://host:port or unix:///path"),
        (
            "CLAMD_ADDRESS",
            "unix://run/clamav/clamd.ctl",
            "CLAMD_ADDRESS: a Unix socket address is unix:///absolute/path",
        ),
        ("CLAMD_TIMEOUT", "soon", "CLAMD_TIMEOUT must be a number of seconds"),
        ("CLAMD_TIMEOUT", "0", "CLAMD_TIMEOUT must be between 0 and 300 seconds"),
    ],
)
def test_production_refuses_an_antivirus_setting_it_cannot_use(variable, value, message):
    # Without a scanner every bank logo would be stored unscanned (ASVS 5.4.3): production never starts so.
    result = _start({**PRODUCTION, variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_development_runs_without_an_antivirus_scanner():
    result = _start({"KARTOSFERA_ENV": "development"})
    assert result.returncode == 0, result.stderr


def test_production_is_the_default_mode():
    env = {k: v for k, v in PRODUCTION.items() if k not in {"KARTOSFERA_ENV", "SECRET_KEY"}}
    result = _start(env)
    assert "SECRET_KEY must be set in production" in result.stderr


def test_production_refuses_debug():
    result = _start({**PRODUCTION, "DEBUG": "true"})
    assert "DEBUG must not be enabled in production" in result.stderr


def test_production_uses_host_prefixed_secure_cookies_and_hsts():
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_NAME, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT)"
    )
    result = production_start(PRODUCTION, code)
    assert result.stdout.split() == [
        "__Host-kartosfera_session",
        "True",
        "__Host-kartosfera_csrf",
        "True",
        "31536000",
        "True",
    ]


@pytest.mark.parametrize("backend", ["console", "file", "locmem"])
def test_production_refuses_sms_backends_that_expose_codes(backend):
    result = _start({**PRODUCTION, "SMS_BACKEND": backend})
    assert result.returncode != 0
    assert "production needs http" in result.stderr


# --- Key lists: CARD_PIN_KEY and PIN_ENCRYPTION_KEY, newest first [ASVS 11.2.2] ------------------------------

_PEK_2 = base64.b64encode(b"m" * 16).decode()


def test_production_starts_with_two_keys_in_each_pin_key_list():
    result = _start(
        {
            **PRODUCTION,
            "CARD_PIN_KEY": "q" * 40 + ", " + "p" * 40,
            "PIN_ENCRYPTION_KEY": f"{_PEK_2},{PRODUCTION['PIN_ENCRYPTION_KEY']}",
        }
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        # Every key of the list is held to the single key's rules, the old ones too.
        ("CARD_PIN_KEY", "q" * 40 + "," + "p" * 20, "CARD_PIN_KEY must have at least 32 characters"),
        (
            "CARD_PIN_KEY",
            "q" * 40 + ",dev-only-card-pin-key-00000000000000000000",
            "CARD_PIN_KEY must be set in production to a key of its own",
        ),
        ("CARD_PIN_KEY", "q" * 40 + "," + "q" * 40, "CARD_PIN_KEY lists the same key twice"),
        ("CARD_PIN_KEY", "q" * 40 + "," + "f" * 40, "must be different keys"),  # the fingerprint key's
        ("CARD_PIN_KEY", " , ", "CARD_PIN_KEY must be set in production"),
        (
            "PIN_ENCRYPTION_KEY",
            _PEK_2 + "," + base64.b64encode(b"k" * 20).decode(),
            "PIN_ENCRYPTION_KEY must be base64 of 16, 24 or 32 random bytes",
        ),
        (
            "PIN_ENCRYPTION_KEY",
            _PEK_2 + ",ZGV2LW9ubHktcGluLWVuY3J5cHRpb24ta2V5LTAwMDA=",
            "PIN_ENCRYPTION_KEY must be set in production to a key of its own",
        ),
        ("PIN_ENCRYPTION_KEY", _PEK_2 + "," + _PEK_2, "PIN_ENCRYPTION_KEY lists the same key twice"),
    ],
)
def test_production_refuses_a_pin_key_list_with_a_bad_key(variable, value, message):
    result = _start({**PRODUCTION, variable: value})
    assert result.returncode != 0
    assert message in result.stderr
    for key in value.split(","):
        assert not key.strip() or key.strip() not in result.stderr


def test_production_refuses_a_pin_encryption_key_given_as_a_pin_key():
    # One key, one purpose: the PEK (base64, long enough for an HMAC key) must not double as a PIN key.
    pek = PRODUCTION["PIN_ENCRYPTION_KEY"]
    result = _start({**PRODUCTION, "CARD_PIN_KEY": "q" * 40 + "," + pek})
    assert result.returncode != 0
    assert "must be different keys" in result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("api.pwnedpasswords.com", "PWNED_PASSWORDS_URL must be an http:// or https:// address, or off"),
        ("https://user:secret@mirror.example", "PWNED_PASSWORDS_URL must not carry credentials"),
    ],
)
def test_production_refuses_a_breached_password_service_that_is_not_an_address(value, message):
    result = _start({**PRODUCTION, "PWNED_PASSWORDS_URL": value})
    assert result.returncode != 0
    assert message in result.stderr
    assert "secret" not in result.stderr


def test_production_takes_off_for_the_breached_password_service():
    # Allowed, but `check --deploy` warns (users.W001; kartosfera/users/tests/test_pwned.py).
    result = _start({**PRODUCTION, "PWNED_PASSWORDS_URL": "OFF"})
    assert result.returncode == 0, result.stderr


def test_production_refuses_the_breached_password_service_in_clear():
    # Anybody on the path could answer "not breached" for every password; a TLS sidecar on this machine may take http.
    result = _start({**PRODUCTION, "PWNED_PASSWORDS_URL": "http://pwned-mirror.bank.example"})
    assert result.returncode != 0
    assert "PWNED_PASSWORDS_URL must be an https:// URL in production" in result.stderr
    assert _start({**PRODUCTION, "PWNED_PASSWORDS_URL": "http://127.0.0.1:8080"}).returncode == 0
