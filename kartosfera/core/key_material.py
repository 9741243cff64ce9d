"""Raw symmetric keys given in the environment as base64: decoded and checked in one place.

Imported by the settings (which refuse a wrong key at start-up) and by the code that uses the
key (which refuses one put in by ``override_settings``), so this module must not import Django.
The errors name the setting, never the value.
"""

from __future__ import annotations

import base64
import binascii

AES_KEY_LENGTHS = (16, 24, 32)


def decode_aes_key(name: str, value: str) -> bytes:
    """The AES key that ``value`` (base64 of 16, 24 or 32 bytes) encodes; ValueError otherwise."""
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{name} must be base64 (of 16, 24 or 32 random bytes)") from None
    if len(key) not in AES_KEY_LENGTHS:
        raise ValueError(f"{name} must be base64 of 16, 24 or 32 random bytes (an AES-128, -192 or -256 key)")
    return key
