"""Template filters of the API reference page."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def inline_code(text: object) -> SafeString:
    """Text from the schema with ``code`` in backticks (as Markdown writes it), escaped, the code in <code>."""
    parts = str(text or "").split("`")
    if len(parts) % 2 == 0:
        # An unpaired backtick is a character, not markup: keep it in the last piece of text.
        parts[-2:] = ["`".join(parts[-2:])]
    pieces = (
        format_html("<code>{}</code>", part) if index % 2 else conditional_escape(part)
        for index, part in enumerate(parts)
        if part
    )
    return format_html_join("", "{}", ((piece,) for piece in pieces))


@register.filter
def path_breaks(path: object) -> SafeString:
    """A URL path that may wrap after each slash (``<wbr>``), so that a narrow column needs no sideways scroll."""
    text = str(path or "")
    lead, rest = ("/", text[1:]) if text.startswith("/") else ("", text)
    joined = format_html_join(format_html("{}<wbr>", "/"), "{}", ((part,) for part in rest.split("/")))
    return format_html("{}{}", lead, joined)
