"""The GSM-7 alphabet (3GPP TS 23.038): what fits a 160-character SMS, and transliteration into it.

One character outside GSM-7 (a Polish "ą", a no-break space) makes the whole
message UCS-2, which halves a segment to 70 characters: a 100-character text
becomes two paid SMS, and some phones show them apart.
"""

from __future__ import annotations

import unicodedata

# One segment of a single (not concatenated) message, in septets.
SEGMENT_SEPTETS = 160

# The default alphabet, one septet each (the escape character 0x1B left out).
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: escape + character, so two septets each.
EXTENSION = frozenset("\f^{}\\[~]|€")

# What NFKD decomposition does not reach, and typography with a plain equivalent.
_REPLACEMENTS = {
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "\xa0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2026": "...",
}


def septets(text: str) -> int | None:
    """How many septets ``text`` takes in GSM-7, or None when a character is not in the alphabet."""
    count = 0
    for char in text:
        if char in BASIC:
            count += 1
        elif char in EXTENSION:
            count += 2
        else:
            return None
    return count


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM-7 alphabet (basic or extension table)."""
    return septets(text) is not None


def fits_one_segment(text: str) -> bool:
    """Whether ``text`` is GSM-7 and at most 160 septets: one SMS."""
    count = septets(text)
    return count is not None and count <= SEGMENT_SEPTETS


def _transliterate_char(char: str) -> str:
    if char in BASIC or char in EXTENSION:
        return char
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    # "ą" -> "a" + combining ogonek: keep the letter, drop the mark.
    plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if plain and all(c in BASIC or c in EXTENSION for c in plain):
        return plain
    return "?"


def transliterate(text: str) -> str:
    """``text`` in GSM-7: Polish letters without their marks ("zażółć" -> "zazolc"), typography made plain."""
    if is_gsm7(text):
        return text
    return "".join(_transliterate_char(char) for char in text)
