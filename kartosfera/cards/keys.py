"""Rotating the card-data keys: every stored card number under the primary key, every fingerprint current.

The order of operations that makes a rotation safe: deploy the new key list
(new key first, old keys after it) and, if it changes, the new fingerprint key
everywhere; then run ``manage.py rotate_card_keys``; only after it succeeded
remove the old data key. Until the run finishes, fingerprints made with an old
fingerprint key do not match look-ups, so run it straight after the deploy.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from kartosfera.cards.models import Card
from kartosfera.cards.pan import decrypt_pan, pan_fingerprint, reencrypt_pan
from kartosfera.core.audit import Actor, audit_record


class CardKeyError(Exception):
    """A stored card number cannot be decrypted with any configured key."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"card {reference} cannot be decrypted with any key in CARD_DATA_KEYS")


@dataclass
class KeyRotationResult:
    """What one rotation run did, in counts only."""

    checked: int = 0
    reencrypted: int = 0
    fingerprints_updated: int = 0
    unchanged: int = 0

    def add(self, other: KeyRotationResult) -> None:
        self.checked += other.checked
        self.reencrypted += other.reencrypted
        self.fingerprints_updated += other.fingerprints_updated
        self.unchanged += other.unchanged

    def as_audit(self) -> dict[str, int]:
        return {
            "cards_checked": self.checked,
            "cards_reencrypted": self.reencrypted,
            "fingerprints_updated": self.fingerprints_updated,
            "cards_unchanged": self.unchanged,
            "keys_configured": len(settings.CARD_DATA_KEYS),
        }


def _primary_fernet() -> Fernet:
    if not settings.CARD_DATA_KEYS:
        raise ImproperlyConfigured("CARD_DATA_KEYS is empty")
    try:
        return Fernet(settings.CARD_DATA_KEYS[0].encode())
    except ValueError:
        raise ImproperlyConfigured("The first key in CARD_DATA_KEYS is not a valid Fernet key") from None


def _rotate_chunk(*, after_pk: int, batch_size: int, primary: Fernet) -> tuple[int | None, KeyRotationResult]:
    """Rotate the next ``batch_size`` cards after ``after_pk`` in one transaction; all or nothing."""
    done = KeyRotationResult()
    with transaction.atomic():
        # Keyset pagination rather than an open cursor: each chunk locks and
        # commits on its own, and cards issued meanwhile are already current.
        cards = list(
            Card.objects.select_for_update()
            .filter(pk__gt=after_pk)
            .order_by("pk")
            .only("pk", "reference", "pan_ciphertext", "pan_fingerprint", "pin_binding")[:batch_size]
        )
        if not cards:
            return None, done
        changed: list[Card] = []
        for card in cards:
            done.checked += 1
            token = card.pan_ciphertext.encode()
            try:
                pan = primary.decrypt(token).decode()
                ciphertext = card.pan_ciphertext
            except InvalidToken:
                try:
                    pan = decrypt_pan(card.pan_ciphertext)
                except InvalidToken:
                    # Raising rolls back this chunk, so no card in it is half-rotated.
                    raise CardKeyError(card.reference) from None
                ciphertext = reencrypt_pan(card.pan_ciphertext)
                done.reencrypted += 1
            fingerprint = pan_fingerprint(pan)
            if fingerprint != card.pan_fingerprint:
                done.fingerprints_updated += 1
            if not card.pin_binding and fingerprint != card.pan_fingerprint:
                # A card issued without its PIN binding (by code from before it existed) binds its PIN to the
                # fingerprint it had: keep that one, or the new fingerprint would make its PIN wrong.
                card.pin_binding = card.pan_fingerprint
            if ciphertext != card.pan_ciphertext or fingerprint != card.pan_fingerprint:
                card.pan_ciphertext, card.pan_fingerprint = ciphertext, fingerprint
                changed.append(card)
            else:
                done.unchanged += 1
        Card.objects.bulk_update(changed, ["pan_ciphertext", "pan_fingerprint", "pin_binding"])
    return cards[-1].pk, done


def card_keys_rotate(*, actor: Actor, batch_size: int = 500) -> KeyRotationResult:
    """Re-encrypt every card number under the primary key and refresh its fingerprint, chunk by chunk."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    primary = _primary_fernet()
    result = KeyRotationResult()
    after_pk: int | None = 0
    try:
        while after_pk is not None:
            after_pk, done = _rotate_chunk(after_pk=after_pk, batch_size=batch_size, primary=primary)
            result.add(done)
    except CardKeyError as exc:
        # The chunks before the failing one stay rotated (each is consistent);
        # the trail says how far the run got and which card stopped it.
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="cards.keys.rotation_failed",
                after={**result.as_audit(), "failed_card": exc.reference},
            )
        raise
    with transaction.atomic():
        audit_record(actor=actor, action="cards.keys.rotated", after=result.as_audit())
    return result
