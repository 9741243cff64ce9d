"""A complete production environment for tests that start a real interpreter under production's settings.

Production's checks run when the settings are imported, so a test shows a refusal by starting Python with this
environment and one value changed, and reading what it printed. Every value is a test's own (no development key:
production refuses those).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

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
