"""Small presentation helpers shared by the portal's templates."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from kartosfera.core.money import Money

register = template.Library()


@register.filter
def money(value: Money | None) -> str:
    """Localized amount ("1 234,56 zł" in Polish); an em dash when there is none."""
    if value is None:
        return "—"
    return value.format()


@register.filter
def given_name(name: str | None) -> str:
    """The first word of a name ("Aleksandra Maria" → "Aleksandra"): the header's short form of a person."""
    words = (name or "").split()
    return words[0] if words else ""


@register.filter
def ordinal_day(day: int | None) -> str:
    """A billing day in words, e.g. "day 10 of each month"."""
    if day is None:
        return "—"
    return _("day %(day)s of each month") % {"day": day}


@register.filter
def label_separator(label: object) -> str:
    """What joins a field's label to its error in a summary: ": ", or a space after a label that ends a sentence.

    "Why are you cancelling the card?: Choose the reason." reads as a typo; the
    question mark or full stop already separates the two.
    """
    return " " if str(label).rstrip().endswith((".", "?", "!", ":")) else ": "
