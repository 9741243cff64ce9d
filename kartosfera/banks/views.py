"""What the pages show of a bank from our own origin: its logo (banks/logos.py checked it when it was
stored) and its brand colour, as a stylesheet (the CSP allows no inline style)."""

from __future__ import annotations

import hashlib

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from kartosfera.banks.logos import SVG
from kartosfera.banks.selectors import bank_colours, bank_logo_get

# The digest is in the URL: a new logo is a new address, so this one never changes.
IMMUTABLE = "public, max-age=31536000, immutable"
# An SVG opened directly (not through <img>) is a document: nothing in it may run or load; inline
# styles are how SVG colours its shapes. "sandbox" also gives it an opaque origin.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@require_safe
def logo(request: HttpRequest, code: str, digest: str) -> HttpResponse:
    """The bank's current logo; a digest that is not the current one is a 404."""
    bank = bank_logo_get(code=code, digest=digest)
    # An SVG is XML text: its charset is named (banks/logos.py accepts UTF-8 only), as for every text answer.
    content_type = f"{SVG}; charset=utf-8" if bank.logo_content_type == SVG else bank.logo_content_type
    response = HttpResponse(bytes(bank.logo or b""), content_type=content_type)
    response["Cache-Control"] = IMMUTABLE
    response["X-Content-Type-Options"] = "nosniff"
    if bank.logo_content_type == SVG:
        # csp.middleware leaves a response's own policy alone.
        response["Content-Security-Policy"] = SVG_POLICY
    # PrivatePageCacheMiddleware would make it no-store for a signed-in cardholder: a logo is public.
    response.shared_cacheable = True  # type: ignore[attr-defined]
    return response


# Colours change rarely and the pages link one address: a few minutes' caching, then a 304.
COLOURS_MAX_AGE = "public, max-age=300"


@require_safe
def colours(request: HttpRequest) -> HttpResponse:
    """Each bank's brand colour behind its name badge (includes/bank_name.html), white text on it.

    The colours are validated ``#RRGGBB`` with a WCAG AA contrast against white (banks/validators.py,
    a CHECK on the table), and the codes ``[A-Z0-9-]``: both are safe inside the stylesheet.
    """
    rules = [
        f'.bank-badge[data-bank="{code}"] {{ padding: 0 0.5rem; border-radius: 0.25rem; '
        f"background-color: {colour}; color: #ffffff; }}"
        for code, colour in bank_colours()
    ]
    body = ("/* The banks' brand colours (Kartosfera, banks/views.py). */\n" + "\n".join(rules) + "\n").encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="text/css; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = COLOURS_MAX_AGE
    response["X-Content-Type-Options"] = "nosniff"
    response.shared_cacheable = True  # type: ignore[attr-defined]
    return response
