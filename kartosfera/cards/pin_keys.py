"""Which PIN key made the stored PIN verification values: what tells an operator an old key can go (docs/pin.md).

Counts the card PIN and 3-D Secure PIN values per key id (cards/pin.py: pin_key_id). A value with no id (made
before values had one) counts under the oldest configured key, as its verification does; a value under a key id
that CARD_PIN_KEY no longer lists can never be verified again (the holder must set a new PIN).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count

from kartosfera.cards.models import Card
from kartosfera.cards.pin import pin_keys, stored_key_id
from kartosfera.secure3d.models import ThreeDSProfile


@dataclass(frozen=True)
class PinKeyUsage:
    """Stored values per key id, for the card PINs and the 3DS PINs; ``unlabelled``: those with no id."""

    configured: list[str]
    cards: Counter[str] = field(default_factory=Counter)
    threeds: Counter[str] = field(default_factory=Counter)
    unlabelled_cards: int = 0
    unlabelled_threeds: int = 0

    def removed(self) -> dict[str, int]:
        """Values (both kinds) under key ids no longer configured: they cannot be verified any more."""
        total = self.cards + self.threeds
        return {key_id: count for key_id, count in sorted(total.items()) if key_id not in self.configured}

    def under(self, key_id: str) -> int:
        return self.cards[key_id] + self.threeds[key_id]


def pin_key_usage() -> PinKeyUsage:
    """Count the stored values per key id (two grouped queries)."""
    usage = PinKeyUsage(configured=list(pin_keys()))
    unlabelled = {"cards": 0, "threeds": 0}
    for name, model, counter in (("cards", Card, usage.cards), ("threeds", ThreeDSProfile, usage.threeds)):
        rows = model.objects.exclude(pin_verification_value="").values("pin_key_id").annotate(n=Count("pk"))
        for row in rows:
            counter[stored_key_id(row["pin_key_id"])] += row["n"]
            if not row["pin_key_id"]:
                unlabelled[name] += row["n"]
    return PinKeyUsage(
        configured=usage.configured,
        cards=usage.cards,
        threeds=usage.threeds,
        unlabelled_cards=unlabelled["cards"],
        unlabelled_threeds=unlabelled["threeds"],
    )
