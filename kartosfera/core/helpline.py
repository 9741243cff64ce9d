"""The bank's helpline numbers, shown wherever a cardholder may need a person."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


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


def helpline() -> Helpline:
    """The configured helpline (HELPLINE_PHONE, CARD_BLOCKING_PHONE)."""
    return Helpline(
        # str(): the settings module's env() is typed str | None, though both have defaults.
        service=PhoneNumber(str(settings.HELPLINE_PHONE)),
        blocking=PhoneNumber(str(settings.CARD_BLOCKING_PHONE)),
    )
