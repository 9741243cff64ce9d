"""The cache of template fragments that are the same for every visitor (settings.CACHES["template_fragments"])."""

from __future__ import annotations

from typing import Any

from django.core.cache import caches

FRAGMENTS_CACHE = "template_fragments"


def fragments_clear(**kwargs: Any) -> None:
    """Forget every cached fragment (a receiver of ``setting_changed``: the fragments may show settings)."""
    caches[FRAGMENTS_CACHE].clear()
