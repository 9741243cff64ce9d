"""The helpline numbers, shown wherever a cardholder may need a person: a bank's own, else the group's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    # Only the type: core does not import the apps above it (STYLE.md 8); the bank is passed in.
    from kartosfera.banks.models import Bank


@dataclass(frozen=True)
class PhoneNumber:
    """A number as people read it ("+48 86 215 50 00") and as a tel: link dials it."""

    display: str

    @property
    def tel(self) -> str:
        return "tel:" + "".join(ch for ch in self.display if ch.isdigit() or ch == "+")

    def __str__(self) -> str:
        return self.display


@dataclass(frozen=True)
class Helpline:
    # The service line answers everything; the blocking line takes card blocks 24/7.
    service: PhoneNumber
    blocking: PhoneNumber


def helpline(bank: Bank | None = None) -> Helpline:
    """The bank's helpline numbers, each one it has not set being the group's (HELPLINE_PHONE, CARD_BLOCKING_PHONE).

    Without a bank: the group's, which answer for every bank of the group.
    """
    return Helpline(
        # str(): the settings module's env() is typed str | None, though both have defaults.
        service=PhoneNumber((bank.helpline_phone if bank else "") or str(settings.HELPLINE_PHONE)),
        blocking=PhoneNumber((bank.card_blocking_phone if bank else "") or str(settings.CARD_BLOCKING_PHONE)),
    )
