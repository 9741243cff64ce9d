from __future__ import annotations

from django.http import HttpRequest

from kartosfera.core.helpline import Helpline, helpline


def helpline_numbers(request: HttpRequest) -> dict[str, Helpline]:
    """The helpline numbers for every page's footer and every "call us" message."""
    return {"helpline": helpline()}
