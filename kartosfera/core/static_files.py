"""The headers of our static files, beyond WhiteNoise's own (imported by the settings: no Django here)."""

from __future__ import annotations

from typing import Any


def static_file_headers(headers: Any, path: str, url: str) -> None:
    """WhiteNoise's hook (WHITENOISE_ADD_HEADERS_FUNCTION): an SVG is XML text, so its charset is named.

    WhiteNoise names the charset of text/* files only; ASVS 4.1.1 asks it of */+xml too. Our SVGs are UTF-8.
    """
    if path.endswith(".svg"):
        headers["Content-Type"] = "image/svg+xml; charset=utf-8"
