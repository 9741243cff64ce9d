"""The customer's PINs: the card PIN and the 3-D Secure PIN (docs/pin.md, docs/3d-secure.md).

One module for both: the trivial-PIN rules (written once, ``pin_weakness``), the
keyed verification values and the rule that the two PINs differ.

Neither PIN is ever stored, logged or kept anywhere: only its verification
value, HMAC-SHA256 under one of the CARD_PIN_KEY keys (outside the database; an
HSM in a production card core), stored with the id of the key that made it
(``pin_key_id``). New values are made under the newest key; a value under an
older key is rewritten under the newest when its PIN is verified right
(``PinVerification.rewrite``), so the oldest key can be dropped once
``manage.py pin_key_usage`` counts no value under it [ASVS 11.2.2].
The card PIN's value is bound to the card (its reference and PAN fingerprint):
the same PIN on two cards gives two unrelated values, and a value copied to
another card is worthless. The 3-D Secure PIN's value is bound
to the customer (one 3DS PIN for all their cards). To compare the two PINs the
candidate's value is computed under the other binding: a new 3DS PIN under each
card's, a new card PIN under the customer's.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import itertools
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kartosfera.core.errors import DomainError

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

    from kartosfera.cards.models import Card
    from kartosfera.customers.models import Customer

PIN_LENGTH = 4
# The card PIN is blocked at the 3rd wrong PIN in a row (Card.wrong_pin_count; the card core answers 75
# from then on, also to the right PIN, until the bank resets the counter: card_wrong_pin_reset).
PIN_TRY_LIMIT = 3

# Frequently chosen PINs that the other rules do not catch: patterns and dates.
# 2580 and 0852 are the middle column of the keypad, top to bottom and back.
COMMON_PINS = frozenset({"1212", "1004", "2000", "6969", "1122", "1313", "2580", "0852"})


class PinRule:
    """The codes of the refusals (ValidationError.code / DomainError.code), one per rule, for both PINs."""

    FORMAT = "pin_format"
    SAME_DIGITS = "pin_same_digits"
    SEQUENCE = "pin_sequence"
    CARD_NUMBER = "pin_card_number"
    BIRTH_YEAR = "pin_birth_year"
    BIRTH_DAY = "pin_birth_day"
    COMMON = "pin_common"
    # The card PIN equal to the 3DS PIN, or the 3DS PIN equal to a card's PIN.
    SAME_AS_OTHER_PIN = "pin_same_as_other_pin"


def _is_run(pin: str) -> bool:
    """Digits that go up or down by one each: 1234, 4321, 0123, 9876 (no wrap-around)."""
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {-1})


def pin_weakness(pin: str, *, birth_date: dt.date | None, card_numbers: Collection[str]) -> str | None:
    """The trivial-PIN rule (a PinRule code) that ``pin`` breaks, or None: the same rules for both PINs.

    ``card_numbers``: the last 4 digits that the PIN must not be (the card's own
    for a card PIN; every card of the customer's for the 3DS PIN, which serves
    them all and is typed where the card number is shown).
    """
    if len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        return PinRule.FORMAT
    if len(set(pin)) == 1:
        return PinRule.SAME_DIGITS
    if _is_run(pin):
        return PinRule.SEQUENCE
    if pin in card_numbers:
        return PinRule.CARD_NUMBER
    if birth_date is not None:
        if pin == f"{birth_date.year:04d}":
            return PinRule.BIRTH_YEAR
        if pin in {f"{birth_date.day:02d}{birth_date.month:02d}", f"{birth_date.month:02d}{birth_date.day:02d}"}:
            return PinRule.BIRTH_DAY
    if pin in COMMON_PINS:
        return PinRule.COMMON
    return None


CARD_PIN_MESSAGES: dict[str, _StrPromise] = {
    PinRule.FORMAT: _("The PIN must have exactly 4 digits."),
    PinRule.SAME_DIGITS: _("The PIN cannot be one digit repeated, like 1111."),
    PinRule.SEQUENCE: _("The PIN cannot be a run of consecutive digits, like 1234 or 4321."),
    PinRule.CARD_NUMBER: _("The PIN cannot be the last 4 digits of the card number."),
    PinRule.BIRTH_YEAR: _("The PIN cannot be your year of birth."),
    PinRule.BIRTH_DAY: _("The PIN cannot be your birthday (day and month)."),
    PinRule.COMMON: _("This PIN is one of the most common ones and easy to guess. Choose another one."),
}


def pin_check(pin: str, *, card: Card) -> None:
    """Raise ValidationError, with the reason and its code, unless ``pin`` is a good new PIN for ``card``."""
    rule = pin_weakness(pin, birth_date=card.customer.birth_date, card_numbers=(card.pan_last4,))
    if rule is not None:
        raise ValidationError(CARD_PIN_MESSAGES[rule], code=rule)


logger = logging.getLogger(__name__)

# The label of a key's id: the id names a key in the database without revealing anything of it.
KEY_ID_LABEL = b"kartosfera.pin-key-id.v1"


def pin_key_id(key: str) -> str:
    """The short id (8 hex) stored with every value made under ``key``: HMAC-SHA256(key, a fixed label), cut."""
    return hmac.new(key.encode(), KEY_ID_LABEL, hashlib.sha256).hexdigest()[:8]


@functools.lru_cache(maxsize=4)
def _keys_by_id(keys: tuple[str, ...]) -> dict[str, str]:
    by_id = {pin_key_id(key): key for key in keys}
    if not by_id or len(by_id) < len(keys):
        raise ImproperlyConfigured("CARD_PIN_KEY must list at least one key, each once with its own id")
    return by_id


def pin_keys() -> dict[str, str]:
    """The PIN keys by id, newest first (settings.CARD_PIN_KEYS, from the CARD_PIN_KEY variable)."""
    return dict(_keys_by_id(tuple(settings.CARD_PIN_KEYS)))


def newest_pin_key_id() -> str:
    """The id of the key new values are made under (the first of CARD_PIN_KEY)."""
    return next(iter(pin_keys()))


def stored_key_id(key_id: str | None) -> str:
    """The id of the key a stored value was made under. No id (null): made before values had one, under the one
    key there was then, which stays the oldest (the last) of the list until every such value is rewritten."""
    return key_id if key_id else list(pin_keys())[-1]


def _keyed_value(*fields: str | bytearray, key_id: str | None = None) -> str:
    keys = pin_keys()
    key = keys[key_id] if key_id is not None else next(iter(keys.values()))
    mac = hmac.new(key.encode(), digestmod=hashlib.sha256)
    # Unambiguous framing: the references and the fingerprint never contain a NUL.
    # Fed field by field so that a PIN held in a bytearray (a deciphered PIN block,
    # cards/pinblock.py) is hashed where it lies, never copied into a str that cannot be wiped.
    for index, field in enumerate(fields):
        if index:
            mac.update(b"\x00")
        mac.update(field.encode() if isinstance(field, str) else field)
    return mac.hexdigest()


def pin_verification_value(pin: str | bytearray, *, card: Card, key_id: str | None = None) -> str:
    """The keyed, one-way value the card core keeps for ``pin`` on ``card`` (64 hex characters).

    ``pin``: the digits as text, or as ASCII digits in a bytearray (the same value).
    ``key_id``: the key to make it under (an id of ``pin_keys``); the newest when None.
    """
    # pin_binding, not pan_fingerprint: a new fingerprint key must not turn every PIN wrong (an unsaved card in a
    # test may have only the fingerprint).
    binding = card.pin_binding or card.pan_fingerprint
    return _keyed_value("kartosfera.card-pin.v1", card.reference, binding, pin, key_id=key_id)


def threeds_pin_verification_value(pin: str, *, customer: Customer, key_id: str | None = None) -> str:
    """The keyed, one-way value kept for ``pin`` as the 3DS PIN of ``customer`` (64 hex characters).

    Its own label keeps it unrelated to any card's value, even for the same PIN.
    ``key_id``: the key to make it under (an id of ``pin_keys``); the newest when None.
    """
    return _keyed_value("kartosfera.3ds-pin.v1", customer.reference, pin, key_id=key_id)


def pin_verification_values(pin: str, *, card: Card) -> dict[str, str]:
    """``pin``'s value on ``card`` under every PIN key (key id -> value, newest first).

    What a step-up payload carries between the request and its confirmation: the newest key's is stored, and
    the one under the key of a stored value is compared with it, whichever key that is.
    """
    return {key_id: pin_verification_value(pin, card=card, key_id=key_id) for key_id in pin_keys()}


def threeds_pin_verification_values(pin: str, *, customer: Customer) -> dict[str, str]:
    """``pin``'s value as the 3DS PIN of ``customer`` under every PIN key (key id -> value, newest first)."""
    return {key_id: threeds_pin_verification_value(pin, customer=customer, key_id=key_id) for key_id in pin_keys()}


def is_keyed_values(values: object) -> bool:
    """Is ``values`` a non-empty key id -> verification value mapping (``pin_verification_values``), i.e. no PIN?"""
    return (
        isinstance(values, Mapping)
        and bool(values)
        and all(isinstance(k, str) and len(k) == 8 and is_verification_value(v) for k, v in values.items())
    )


class PinKeysChanged(DomainError):
    """The PIN keys changed between a PIN change's request and its confirmation (a deployment): start again."""

    code = "pin_keys_changed"

    def __init__(self) -> None:
        super().__init__(
            gettext("Something changed since you asked for this. Nothing has been changed: please start again.")
        )


def newest_value(values: Mapping[str, str]) -> tuple[str, str]:
    """From ``values`` (key id -> value), the newest key's value and id: what is stored. PinKeysChanged if absent."""
    newest = newest_pin_key_id()
    if newest not in values:
        raise PinKeysChanged
    return values[newest], newest


def value_under_stored_key(values: Mapping[str, str], key_id: str | None) -> str | None:
    """From ``values`` (key id -> value), the one to compare with a value stored under ``key_id`` (None: no id).

    None when the stored value's key was removed from CARD_PIN_KEY: no PIN verifies against it any more, so
    there is nothing to compare. PinKeysChanged when the key is configured but ``values`` lack it (a key
    added after they were made).
    """
    key = stored_key_id(key_id)
    if key not in pin_keys():
        return None
    if key not in values:
        raise PinKeysChanged
    return values[key]


def is_verification_value(value: object) -> bool:
    """Is ``value`` shaped like a verification value (64 lower-case hex characters), i.e. not a PIN?"""
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def values_match(stored: str, candidate: str) -> bool:
    """Constant-time comparison of two verification values (False when none is stored)."""
    return bool(stored) and hmac.compare_digest(stored, candidate)


@dataclass(frozen=True)
class PinVerification:
    """The outcome of checking a PIN against a stored value.

    ``matched``: the PIN is right. ``key_removed``: the value was made under a key no longer in CARD_PIN_KEY, so
    no PIN can match it (not the holder's fault: never counted as a wrong PIN; logged). ``rewrite``: when the
    PIN is right under an older key, its value under the newest key, and that key's id, to store in the
    transaction that holds the row's lock.
    """

    matched: bool
    key_removed: bool = False
    rewrite: tuple[str, str] | None = None


def _verify(
    stored: str, key_id: str | None, value_under: Callable[[str], str], what: str, whose: object
) -> PinVerification:
    if not stored:
        return PinVerification(matched=False)
    key = stored_key_id(key_id)
    if key not in pin_keys():
        # The operator's signal (also counted by manage.py pin_key_usage): the key id only, never a value.
        logger.warning(
            "%s of %s was made under the PIN key %s, which CARD_PIN_KEY no longer lists: it cannot be verified",
            what,
            whose,
            key,
        )
        return PinVerification(matched=False, key_removed=True)
    if not values_match(stored, value_under(key)):
        return PinVerification(matched=False)
    newest = newest_pin_key_id()
    if key_id == newest:
        return PinVerification(matched=True)
    return PinVerification(matched=True, rewrite=(value_under(newest), newest))


def pin_verify(pin: str | bytearray, *, card: Card) -> PinVerification:
    """Check ``pin`` against the card's stored value, under the key that made it (constant-time)."""
    return _verify(
        card.pin_verification_value,
        card.pin_key_id,
        lambda key_id: pin_verification_value(pin, card=card, key_id=key_id),
        "The PIN verification value",
        f"card {card.reference}",
    )


def threeds_pin_verify(pin: str, *, customer: Customer, stored: str, key_id: str | None) -> PinVerification:
    """Check ``pin`` as the 3DS PIN of ``customer`` against its stored value and key id (constant-time)."""
    return _verify(
        stored,
        key_id,
        lambda under: threeds_pin_verification_value(pin, customer=customer, key_id=under),
        "The 3-D Secure PIN verification value",
        f"customer {customer.reference}",
    )


def pin_matches(pin: str | bytearray, *, card: Card) -> bool:
    """Does ``pin`` match the card's stored verification value? (Constant-time; False when none is set.)"""
    return pin_verify(pin, card=card).matched


def pin_cards_of_customer(customer_id: int) -> QuerySet[Card]:
    """The cards whose PIN the 3DS PIN must differ from: every card of the customer but a cancelled one.

    A cancelled card is final (docs/decisions/0008): its PIN opens nothing any
    more, the holder can no longer change it, and a rule about it could not be
    explained on a page that shows the card no operations.
    """
    from kartosfera.cards.models import Card

    # A block past its 60 days is a cancellation already, job or no job (Card.status_now).
    return Card.objects.filter(customer_id=customer_id).not_cancelled_now(timezone.now()).order_by("pk")


def pin_values_under_cards(pin: str, *, customer: Customer) -> dict[str, dict[str, str]]:
    """``pin``'s verification values under each of the customer's cards (``pin_cards_of_customer``), in one query.

    Keyed by card id (as text: it travels in a JSON payload), then by PIN key id
    (``pin_verification_values``). What a new 3DS PIN is compared with, once its
    SMS code is confirmed, under the key each card's value was made with.
    """
    cards = pin_cards_of_customer(customer.pk).only("pk", "reference", "pan_fingerprint", "pin_binding")
    return {str(card.pk): pin_verification_values(pin, card=card) for card in cards}


class PinSameAsOtherPin(DomainError):
    """The card PIN and the 3DS PIN would be the same (refused once the SMS code is confirmed)."""

    code = PinRule.SAME_AS_OTHER_PIN


def pins_lock_customer(customer_id: int) -> None:
    """Lock the customer's row: changes of either PIN of one customer then run one at a time.

    Without it a card PIN change and a 3DS PIN change confirmed at the same
    moment would each compare with the other's old value, and both pass.
    (Callers lock a card first, if at all, then the customer: never the reverse.)
    """
    from kartosfera.customers.models import Customer

    Customer.objects.select_for_update().filter(pk=customer_id).values_list("pk", flat=True).first()
