"""Numbers written into URLs and element ids are never localized.

USE_THOUSAND_SEPARATOR is on (Polish amounts read "1 234,56"), so ``{{ payment.pk }}`` renders id 1384
as "1 384" (with a no-break space): in an href's fragment or query the link misses its row, and in an
id the label no longer names its element. The back office's links to a payment in the card's
authorizations broke that way once ids passed 1,000 (found by a test that ran after the demo's
traffic). Such a number goes through ``|unlocalize`` (or is built in Python).
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.template import Context, Template
from django.test import override_settings
from django.utils import translation

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# An attribute whose value prints an id, a position or a page number with no filter.
UNFILTERED_NUMBER = re.compile(
    r'\b(?:id|href|for|aria-[a-z]+|data-[a-z-]+|value|name|action)="[^"]*\{\{\s*'
    # A form field's auto_id is a string ("id_reason").
    r"[\w.]*(?:\.pk|(?<!auto)_id|\.id|position|page_number)\s*\}\}"
)


def test_no_template_prints_an_id_or_page_number_into_an_attribute_localized():
    offending = [
        f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()[:120]}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if UNFILTERED_NUMBER.search(line)
    ]
    assert not offending, "use |unlocalize:\n" + "\n".join(offending)


@override_settings(USE_THOUSAND_SEPARATOR=True)
def test_unlocalize_keeps_a_large_id_whole_where_the_plain_variable_would_split_it():
    with translation.override("pl"):
        plain = Template('<a href="#authorization-{{ pk }}">').render(Context({"pk": 1384}))
        kept = Template('{% load l10n %}<a href="#authorization-{{ pk|unlocalize }}">').render(Context({"pk": 1384}))
    assert plain != '<a href="#authorization-1384">'  # what the guard above is for
    assert kept == '<a href="#authorization-1384">'
