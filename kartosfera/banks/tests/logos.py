"""Images for the logo tests, made here (Pillow draws the PNGs)."""

from __future__ import annotations

import io

from PIL import Image

SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'


def png_bytes(width: int = 64, height: int = 32, colour: str = "#006633") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def svg_bytes(inner: str = '<rect width="10" height="10" fill="#006633"/>', attributes: str = "") -> bytes:
    return f'<svg {SVG_NS} viewBox="0 0 10 10"{attributes}>{inner}</svg>'.encode()


# A gradient painted through url(#…) and a <use> of its own symbol: what real logos do, and allowed.
HARMLESS_SVG = svg_bytes(
    '<defs><linearGradient id="g"><stop offset="0" stop-color="#063"/></linearGradient>'
    '<symbol id="s"><circle r="4"/></symbol></defs>'
    '<style>.a{fill:#063}</style><rect class="a" fill="url(#g)" width="10" height="10"/><use href="#s"/>'
)
