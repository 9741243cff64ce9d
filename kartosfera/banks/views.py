"""The bank's logo, served from our own origin (banks/logos.py checked it when it was stored)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from kartosfera.banks.logos import SVG
from kartosfera.banks.selectors import bank_logo_get

# The digest is in the URL: a new logo is a new address, so this one never changes.
IMMUTABLE = "public, max-age=31536000, immutable"
# An SVG opened directly (not through <img>) is a document: nothing in it may run or load; inline
# styles are how SVG colours its shapes. "sandbox" also gives it an opaque origin.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@require_safe
def logo(request: HttpRequest, code: str, digest: str) -> HttpResponse:
    """The bank's current logo; a digest that is not the current one is a 404."""
    bank = bank_logo_get(code=code, digest=digest)
    response = HttpResponse(bytes(bank.logo or b""), content_type=bank.logo_content_type)
    response["Cache-Control"] = IMMUTABLE
    response["X-Content-Type-Options"] = "nosniff"
    if bank.logo_content_type == SVG:
        # csp.middleware leaves a response's own policy alone.
        response["Content-Security-Policy"] = SVG_POLICY
    # PrivatePageCacheMiddleware would make it no-store for a signed-in cardholder: a logo is public.
    response.shared_cacheable = True  # type: ignore[attr-defined]
    return response
