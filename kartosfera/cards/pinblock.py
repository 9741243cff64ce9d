"""PIN blocks, ISO 9564-1 format 4 (AES): built, opened and checked against the card's PIN (docs/pin.md).

A PIN transaction reaches Kartosfera as an enciphered PIN block under the PIN encryption key
(PEK, ``PIN_ENCRYPTION_KEY``) shared with the card processor. Format 4 uses two 16-byte fields:

- the plain text PIN field, 32 nibbles: control ``4``, the PIN length N (4..12), the N PIN
  digits, fill nibbles ``A`` up to nibble 15, then 8 random bytes (so the same PIN on the same
  card never gives the same block twice);
- the plain text PAN field, 32 nibbles: M = PAN length - 12 (0..7), the PAN (12..19 digits),
  zeros to the end; a PAN shorter than 12 digits is right-aligned in 12 digits behind zeros,
  with M = 0.

Enciphering: A = AES(K, PIN field); B = A xor PAN field; PIN block = AES(K, B). Deciphering runs
it backwards, so a block opened with another card's PAN (or under another key) gives a PIN field
that fails the format checks: the PIN is bound to the card without the PAN being in the block.

Nothing here logs, and no error carries the PIN, the PIN block or the PAN: ``PinBlockInvalid``
has a fixed message and a reason code. The deciphered PIN exists only in bytearrays that are
zeroed as soon as the check is done (what Python can and cannot promise about that: docs/pin.md).
In a production card core an HSM does all of this (PIN translate / PIN verify): the PIN never
leaves it, and ``pin_block_verify`` is the one call to replace.
"""

from __future__ import annotations

import enum
import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from kartosfera.cards.pan import pan_fingerprint
from kartosfera.cards.pin import pin_verify
from kartosfera.core.errors import DomainError
from kartosfera.core.key_material import decode_aes_key

if TYPE_CHECKING:
    from kartosfera.cards.models import Card

BLOCK_SIZE = 16
PIN_LENGTHS = range(4, 13)
PAN_MAX_LENGTH = 19
CONTROL_FORMAT_4 = 0x4
FILL = 0xA
RANDOM_FILL_SIZE = 8


class PinBlockFault(enum.StrEnum):
    """Why a PIN block (or what it was built from) was refused: codes, never the data."""

    NOT_HEX = "not_hex"
    LENGTH = "length"
    CONTROL = "control"
    PIN_LENGTH = "pin_length"
    PIN_DIGIT = "pin_digit"
    FILL = "fill"
    PAN = "pan"
    PAN_NOT_THE_CARDS = "pan_not_the_cards"
    RANDOM_FILL = "random_fill"


class PinBlockInvalid(DomainError):
    """The PIN block cannot be opened or built; ``reason`` (a PinBlockFault) says why, the message never what.

    A block opened under the wrong key or with the wrong PAN fails as CONTROL, PIN_LENGTH,
    PIN_DIGIT or FILL: those reasons are for the trace, not for the processor's answer (one
    answer for all of them gives nobody a format oracle).
    """

    default_message = _("The PIN block is not valid.")
    code = "pin_block_invalid"

    def __init__(self, reason: PinBlockFault) -> None:
        self.reason = reason
        super().__init__()

    def __repr__(self) -> str:
        return f"PinBlockInvalid(reason={self.reason.value!r})"


class PinCheck(enum.StrEnum):
    """What a PIN block said about the card's PIN."""

    MATCH = "match"
    MISMATCH = "mismatch"
    # The card has no PIN verification value (no PIN set yet): nothing to verify against.
    NOT_SET = "not_set"
    # The card's value was made under a PIN key no longer in CARD_PIN_KEY: no PIN can match it, and it is not
    # the holder's wrong PIN (logged; manage.py pin_key_usage counts such values).
    KEY_REMOVED = "key_removed"


def pin_encryption_keys() -> list[bytes]:
    """The PEKs from ``PIN_ENCRYPTION_KEY``, newest first (checked at start-up too: config/settings.py)."""
    try:
        keys = [decode_aes_key("PIN_ENCRYPTION_KEY", value) for value in settings.PIN_ENCRYPTION_KEYS]
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    if not keys:
        raise ImproperlyConfigured("PIN_ENCRYPTION_KEY must list at least one key")
    return keys


def pin_encryption_key() -> bytes:
    """The newest PEK: the one blocks are enciphered under (the development terminal, the simulator)."""
    return pin_encryption_keys()[0]


def _wipe(*buffers: bytearray) -> None:
    for buffer in buffers:
        buffer[:] = bytes(len(buffer))


def _cipher(key: bytes) -> Cipher[modes.ECB]:
    # ECB here is AES applied to exactly one 16-byte block, which is what ISO 9564-1 format 4
    # specifies (two single-block encipherments with a XOR between them). ECB's weakness,
    # equal plaintext blocks giving equal ciphertext blocks, needs several blocks or repeated
    # plaintexts; the PIN field carries 8 fresh random bytes, so no two plaintexts repeat.
    return Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305 - one block, as the standard specifies


def _pan_field(pan: str) -> bytearray:
    if not (1 <= len(pan) <= PAN_MAX_LENGTH and pan.isascii() and pan.isdigit()):
        raise PinBlockInvalid(PinBlockFault.PAN)
    length_nibble = max(len(pan) - 12, 0)
    digits = pan.rjust(12, "0")
    field = bytearray(BLOCK_SIZE)
    _set_nibble(field, 0, length_nibble)
    for index, digit in enumerate(digits, start=1):
        _set_nibble(field, index, ord(digit) - 0x30)
    return field


def _nibble(buffer: bytearray, index: int) -> int:
    byte = buffer[index // 2]
    return byte >> 4 if index % 2 == 0 else byte & 0x0F


def _set_nibble(buffer: bytearray, index: int, value: int) -> None:
    if index % 2 == 0:
        buffer[index // 2] = (buffer[index // 2] & 0x0F) | (value << 4)
    else:
        buffer[index // 2] = (buffer[index // 2] & 0xF0) | value


def _aes_into(key: bytes, data: bytearray, out: bytearray, *, encrypt: bool) -> None:
    cipher = _cipher(key)
    context = cipher.encryptor() if encrypt else cipher.decryptor()
    # update_into writes into our bytearray: the cleartext never becomes an immutable bytes object.
    scratch = bytearray(BLOCK_SIZE * 2 - 1)
    try:
        written = context.update_into(data, scratch)
        context.finalize()
        if written != BLOCK_SIZE:  # pragma: no cover - ECB without padding returns the whole block
            raise RuntimeError("AES returned a partial block")
        # Through a memoryview: a slice of the bytearray would be a copy that nothing wipes.
        out[:] = memoryview(scratch)[:BLOCK_SIZE]
    finally:
        _wipe(scratch)


def _parse_block(pin_block: bytes | str) -> bytes:
    if isinstance(pin_block, str):
        # Strict: exactly 32 hex digits, no spaces (bytes.fromhex alone would skip whitespace).
        if len(pin_block) != BLOCK_SIZE * 2:
            raise PinBlockInvalid(PinBlockFault.LENGTH)
        if not all(ch in "0123456789abcdefABCDEF" for ch in pin_block):
            raise PinBlockInvalid(PinBlockFault.NOT_HEX)
        return bytes.fromhex(pin_block)
    if not isinstance(pin_block, bytes | bytearray) or len(pin_block) != BLOCK_SIZE:
        raise PinBlockInvalid(PinBlockFault.LENGTH)
    return bytes(pin_block)


@sensitive_variables()
def pin_block_encipher(*, pin: str, pan: str, key: bytes | None = None, random_fill: bytes | None = None) -> bytes:
    """The 16-byte format-4 PIN block for ``pin`` on the card ``pan`` under ``key`` (default: the PEK).

    What a terminal and the processor do; here for the development payment terminal, the
    processor simulator and the tests. ``random_fill`` (8 bytes) is for known-answer tests
    only: left out, it is drawn from ``secrets``. ``.hex().upper()`` gives the API's form.
    """
    if len(pin) not in PIN_LENGTHS:
        raise PinBlockInvalid(PinBlockFault.PIN_LENGTH)
    if not (pin.isascii() and pin.isdigit()):
        raise PinBlockInvalid(PinBlockFault.PIN_DIGIT)
    if random_fill is None:
        random_fill = secrets.token_bytes(RANDOM_FILL_SIZE)
    elif len(random_fill) != RANDOM_FILL_SIZE:
        raise PinBlockInvalid(PinBlockFault.RANDOM_FILL)
    key = pin_encryption_key() if key is None else key
    pan_field = _pan_field(pan)
    pin_field = bytearray(BLOCK_SIZE)
    block = bytearray(BLOCK_SIZE)
    try:
        _set_nibble(pin_field, 0, CONTROL_FORMAT_4)
        _set_nibble(pin_field, 1, len(pin))
        for index in range(2, 16):
            position = index - 2
            _set_nibble(pin_field, index, ord(pin[position]) - 0x30 if position < len(pin) else FILL)
        pin_field[RANDOM_FILL_SIZE:] = random_fill
        _aes_into(key, pin_field, block, encrypt=True)  # A
        for index in range(BLOCK_SIZE):  # B = A xor PAN field
            block[index] ^= pan_field[index]
        _aes_into(key, block, block, encrypt=True)
        return bytes(block)
    finally:
        _wipe(pin_field, pan_field, block)


@sensitive_variables()
def _open(pin_block: bytes | str, *, pan: str, key: bytes) -> bytearray:
    """The PIN digits (ASCII, in a bytearray the caller wipes) inside ``pin_block``; PinBlockInvalid if malformed."""
    enciphered = bytearray(_parse_block(pin_block))
    pan_field = _pan_field(pan)
    field = bytearray(BLOCK_SIZE)
    try:
        _aes_into(key, enciphered, field, encrypt=False)  # B
        for index in range(BLOCK_SIZE):  # A = B xor PAN field
            field[index] ^= pan_field[index]
        _aes_into(key, field, field, encrypt=False)  # the plain text PIN field
        if _nibble(field, 0) != CONTROL_FORMAT_4:
            raise PinBlockInvalid(PinBlockFault.CONTROL)
        length = _nibble(field, 1)
        if length not in PIN_LENGTHS:
            raise PinBlockInvalid(PinBlockFault.PIN_LENGTH)
        if any(_nibble(field, index) > 9 for index in range(2, 2 + length)):
            raise PinBlockInvalid(PinBlockFault.PIN_DIGIT)
        if any(_nibble(field, index) != FILL for index in range(2 + length, 16)):
            raise PinBlockInvalid(PinBlockFault.FILL)
        # The 8 random bytes are not checked: any value is valid.
        # Allocated at its final size: a bytearray that grows leaves its old buffers unwiped.
        pin = bytearray(length)
        for position in range(length):
            pin[position] = 0x30 + _nibble(field, 2 + position)
        return pin
    finally:
        _wipe(enciphered, pan_field, field)


@sensitive_variables()
def _open_under_any(pin_block: bytes | str, *, pan: str) -> bytearray:
    """Open ``pin_block`` under the newest PEK, else under each older one in turn (a change-over, docs/pin.md).

    A block that opens under none is refused with the newest key's reason: the processor should be on it.
    """
    first: PinBlockInvalid | None = None
    for key in pin_encryption_keys():
        try:
            return _open(pin_block, pan=pan, key=key)
        except PinBlockInvalid as exc:
            first = first or exc
    assert first is not None  # pin_encryption_keys() is never empty
    raise first


@contextmanager
def pin_block_opened(pin_block: bytes | str, *, pan: str, key: bytes | None = None) -> Iterator[bytearray]:
    """Decipher ``pin_block`` (16 bytes, or 32 hex characters) for the card ``pan``; yield the PIN, then wipe it.

    The PIN comes as ASCII digits in a bytearray that is zeroed when the block ends, also
    on an error: use it inside, never copy it out (``str(pin)`` would make a copy nothing wipes).
    Raises PinBlockInvalid for a malformed block, a wrong key or a PAN it was not made for.
    """
    pin = _open(pin_block, pan=pan, key=key) if key is not None else _open_under_any(pin_block, pan=pan)
    try:
        yield pin
    finally:
        _wipe(pin)


@sensitive_variables()
def pin_block_verify(
    *, card: Card, pan: str, pin_block: bytes | str, card_updates: dict[str, object] | None = None
) -> PinCheck:
    """Decipher ``pin_block`` under the PEK and check the PIN against ``card``'s verification value; wipe it.

    ``pan``: the full card number the processor sent, which must be this card's (checked by
    its keyed fingerprint) and is used only to open the block. Writes nothing: counting wrong
    PINs (and blocking the PIN at the third) is the caller's, under the card's row lock. A right
    PIN whose value was made under an older PIN key puts its value under the newest key (and that
    key's id) into ``card_updates``, for the caller to write under that lock (docs/pin.md).
    Raises PinBlockInvalid for a malformed block or a PAN that is not the card's.
    """
    # Opened first, so that a malformed block is reported as such even on a card without a PIN.
    with pin_block_opened(pin_block, pan=pan) as pin:
        if not hmac.compare_digest(pan_fingerprint(pan), card.pan_fingerprint):
            raise PinBlockInvalid(PinBlockFault.PAN_NOT_THE_CARDS)
        if not card.pin_verification_value:
            return PinCheck.NOT_SET
        result = pin_verify(pin, card=card)
        if result.key_removed:
            return PinCheck.KEY_REMOVED
        if not result.matched:
            return PinCheck.MISMATCH
        if result.rewrite is not None and card_updates is not None:
            card_updates["pin_verification_value"], card_updates["pin_key_id"] = result.rewrite
        return PinCheck.MATCH
