"""The BS Pay app's request signatures: the canonical string and the Ed25519 check (docs/phone-payments.md).

Every request of an activated device carries four headers; the app signs

    KARTOSFERA-APP-V1\\n<METHOD>\\n<path?query>\\n<timestamp>\\n<request id>\\n<sha256 hex of the body>

with its private key. Pure functions: no database, so the app's own test
client (kartosfera/devices/tests/app_client.py) signs with the very same code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SCHEME = "KARTOSFERA-APP-V1"
HEADER_DEVICE = "X-Device-Id"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_REQUEST_ID = "X-Request-Id"
HEADER_SIGNATURE = "X-Signature"
# A request id: 16 to 64 letters, digits, "-" or "_" (a UUID fits).
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PUBLIC_KEY_LENGTH = 32
SIGNATURE_LENGTH = 64


def canonical_string(*, method: str, path: str, timestamp: str, request_id: str, body: bytes) -> bytes:
    """What the device signs: method, path with query, timestamp, request id and the body's SHA-256."""
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join([SCHEME, method.upper(), path, timestamp, request_id, body_hash]).encode()


def decode_base64(value: str, *, length: int) -> bytes | None:
    """Standard base64 of exactly ``length`` bytes, else None."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return raw if len(raw) == length else None


def public_key_parse(value: str) -> str | None:
    """The public key in its stored form (canonical base64 of 32 bytes), or None if it is not an Ed25519 key."""
    raw = decode_base64(value.strip(), length=PUBLIC_KEY_LENGTH)
    if raw is None:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None
    return base64.b64encode(raw).decode("ascii")


def signature_valid(*, public_key: str, signature: str, message: bytes) -> bool:
    """Is ``signature`` (base64) the Ed25519 signature of ``message`` by ``public_key`` (stored form)?"""
    raw_signature = decode_base64(signature.strip(), length=SIGNATURE_LENGTH)
    raw_key = decode_base64(public_key, length=PUBLIC_KEY_LENGTH)
    if raw_signature is None or raw_key is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(raw_signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def sign(private_key: Ed25519PrivateKey, message: bytes) -> str:
    """The base64 signature of ``message`` (what the app does; used by the tests and the demo)."""
    return base64.b64encode(private_key.sign(message)).decode("ascii")


def public_key_text(private_key: Ed25519PrivateKey) -> str:
    """The base64 raw public key of ``private_key``, as the app sends it on activation."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")
