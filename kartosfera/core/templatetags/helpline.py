"""``{% get_helpline as numbers %}``: the helpline numbers where no context processor ran.

The context processor gives every page ``helpline``; the 500 page is rendered without a request,
so the footers name the numbers through this tag and show them on that page too.
"""

from __future__ import annotations

from django import template

from kartosfera.core.helpline import Helpline, helpline

register = template.Library()


@register.simple_tag
def get_helpline() -> Helpline:
    return helpline()
