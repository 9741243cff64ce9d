"""manage.py pin_key_usage: how many stored PIN values each PIN key made (when an old key can be removed)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from kartosfera.cards.pin_keys import pin_key_usage


class Command(BaseCommand):
    help = (
        "Count the stored card PIN and 3-D Secure PIN verification values per PIN key id (CARD_PIN_KEY, newest "
        "first). A right PIN moves its value to the newest key; remove an old key only when it counts 0. "
        "Values under a key no longer configured cannot be verified: the command names them and exits with 1."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            usage = pin_key_usage()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        for position, key_id in enumerate(usage.configured):
            role = "newest" if position == 0 else "older"
            if position == len(usage.configured) - 1 and position:
                role = "oldest"
            line = f"{key_id} ({role}): {usage.cards[key_id]} card PINs, {usage.threeds[key_id]} 3-D Secure PINs"
            if position == len(usage.configured) - 1 and (usage.unlabelled_cards or usage.unlabelled_threeds):
                line += (
                    f" (of which {usage.unlabelled_cards} card and {usage.unlabelled_threeds} 3-D Secure values "
                    "have no key id: made before ids, they count under the oldest key)"
                )
            if position and usage.under(key_id) == 0:
                line += ": no value left, the key can be removed"
            self.stdout.write(line)
        removed = usage.removed()
        for key_id, count in removed.items():
            self.stdout.write(
                self.style.ERROR(
                    f"{key_id} (not in CARD_PIN_KEY): {count} values cannot be verified; put the key back at the "
                    "end of CARD_PIN_KEY, or their holders must set a new PIN"
                )
            )
        if removed:
            raise CommandError("Some stored PIN values were made under a key CARD_PIN_KEY no longer lists.")
