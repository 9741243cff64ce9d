"""A complete production environment for tests that start a real interpreter under production's settings.

Production's checks run when the settings are imported, so a test shows a refusal by starting Python with this
environment and one value changed, and reading what it printed. Every value is a test's own (no development key:
production refuses those).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "KARTOSFERA_ENV": "production",
    "SECRET_KEY": "s" * 50,
    "ALLOWED_HOSTS": "cards.example",
    "CARD_DATA_KEYS": Fernet.generate_key().decode(),
    "CARD_FINGERPRINT_KEY": "f" * 40,
    "CARD_PIN_KEY": "p" * 40,
    "PIN_ENCRYPTION_KEY": base64.b64encode(b"k" * 32).decode(),
    "ACS_AUTHENTICATION_KEY": "a" * 40,
    "DATABASE_URL": "sqlite:///:memory:",
    "SMS_GATEWAY_URL": "https://sms-gateway.example/send",
    "TOKEN_SERVICE_URL": "https://tsp.example/v1/token-commands",
    "PWNED_PASSWORDS_URL": "https://pwned-passwords.example",
    "ACS_DIRECTORY_SERVER_URL": "https://ds.example/rreq",
    "BLIK_SYSTEM_URL": "https://blik.example/state",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "CLAMD_ADDRESS": "tcp://127.0.0.1:3310",
    "NBP_REFERENCE_RATE_PERCENT": "5.75",
    "NBP_REFERENCE_RATE_SINCE": "2023-10-05",
}


def production_start(env: dict[str, str], code: str = "print('started')") -> subprocess.CompletedProcess[str]:
    """A real interpreter that loads the settings with ``env`` (the caller's own environment's copies dropped)."""
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k != "DEBUG"}
    return subprocess.run(  # noqa: S603 (this interpreter, the project's own settings)
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@cache
def production_settings(pattern: str) -> dict[str, Any]:
    """The values production gives the settings whose names match ``pattern`` (read in a real interpreter).

    Tests apply them with the ``settings`` fixture to see the answers production would give (its security
    headers, cookies, middleware); JSON's lists are turned back into the tuples the settings hold.
    """
    code = (
        "import json, re; from django.conf import settings as s; "
        f"wanted = re.compile({pattern!r}); "
        "print(json.dumps({n: getattr(s, n) for n in dir(s) if wanted.match(n)}, default=list))"
    )
    result = production_start(PRODUCTION, code)
    assert result.returncode == 0, result.stderr
    values: dict[str, Any] = json.loads(result.stdout)
    if "SECURE_PROXY_SSL_HEADER" in values:
        values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    if "PERMISSIONS_POLICY" in values:
        values["PERMISSIONS_POLICY"] = {
            feature: tuple(allow) for feature, allow in values["PERMISSIONS_POLICY"].items()
        }
    return values
