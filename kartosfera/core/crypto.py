"""Encryption of data at rest with the keys in CARD_DATA_KEYS (Fernet, rotatable).

Card numbers and queued text messages (which carry one-time codes) use it;
MultiFernet decrypts with any listed key and encrypts with the first, so a key
is rotated by prepending a new one and re-encrypting (manage.py rotate_card_keys).
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import salted_hmac


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("CARD_DATA_KEYS is empty")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current_fernet() -> MultiFernet:
    return _fernet(tuple(settings.CARD_DATA_KEYS))


def encrypt(plaintext: str) -> str:
    return _current_fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return _current_fernet().decrypt(ciphertext.encode()).decode()


def reencrypt(ciphertext: str) -> str:
    """The same plaintext under the current primary key (MultiFernet.rotate)."""
    return _current_fernet().rotate(ciphertext.encode()).decode()


def keyed_digest(purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under a key derived from SECRET_KEY for ``purpose``."""
    return salted_hmac(f"kartosfera.{purpose}", value, algorithm="sha256").hexdigest()
