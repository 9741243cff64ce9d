"""manage.py rotate_card_keys: stored card numbers under the current card-data and fingerprint keys."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from kartosfera.cards.keys import CardKeyError, card_keys_rotate
from kartosfera.core.audit import Actor


class Command(BaseCommand):
    help = (
        "Re-encrypt every card number with the first key in CARD_DATA_KEYS and recompute its fingerprint "
        "with CARD_FINGERPRINT_KEY. Run it right after deploying a new key (new key first, old keys after "
        "it), and remove an old key only after this succeeded. Works in chunks, each in its own "
        "transaction; safe to run again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Cards per transaction (default 500).")

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            result = card_keys_rotate(actor=Actor.system("rotate_card_keys"), batch_size=batch_size)
        except CardKeyError as exc:
            raise CommandError(
                f"Card {exc.reference} cannot be decrypted with any key in CARD_DATA_KEYS: was its key removed "
                "before the rotation? Nothing in that card's chunk was changed; earlier chunks stay rotated. "
                "Put the missing key back at the end of CARD_DATA_KEYS and run the command again."
            ) from exc
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Checked {result.checked} cards: {result.reencrypted} re-encrypted under the primary key, "
                f"{result.fingerprints_updated} fingerprints recomputed, "
                f"{result.unchanged} already current."
            )
        )
