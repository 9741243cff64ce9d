"""Country names in the reader's language, from ISO 3166-1 alpha-2 codes (docs/decisions/0012).

The names come from the Unicode CLDR through Babel: the short names people use
("Niemcy", "Stany Zjednoczone", "Czechy"), not the formal ISO ones. A code CLDR
does not name as a country stays as it was given, so a page never loses what
the card scheme sent.
"""

from __future__ import annotations

import re
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from django.utils.translation import get_language, to_locale

_ALPHA2 = re.compile(r"[A-Z]{2}")
# CLDR's own placeholders among its two-letter territories: not a country a merchant is in.
_NOT_COUNTRIES = frozenset({"ZZ"})
FALLBACK_LANGUAGE = "en"


@lru_cache(maxsize=16)
def _territories(language: str) -> dict[str, str]:
    try:
        locale = Locale.parse(to_locale(language))
    except (UnknownLocaleError, ValueError, TypeError):
        locale = Locale.parse(FALLBACK_LANGUAGE)
    return dict(locale.territories)


def country_name(code: str, language: str | None = None) -> str:
    """The name of the country ``code`` (ISO 3166-1 alpha-2) in ``language`` (default: the active one).

    An unknown or malformed code is returned as it was given (stripped), never an error.
    """
    code = (code or "").strip()
    if not _ALPHA2.fullmatch(code) or code in _NOT_COUNTRIES:
        return code
    return _territories(language or get_language() or FALLBACK_LANGUAGE).get(code, code)
