"""The "last sign-in" panel, drawn from what the sign-in left in the session (no query)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from kartosfera.users.session_keys import LOGIN_SUMMARY

register = template.Library()


def _parse(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


@register.inclusion_tag("users/includes/security_summary.html", takes_context=True)
def security_summary(context: template.Context) -> dict[str, Any]:
    """The previous sign-in's time and the failed attempts since, when this session began with a sign-in."""
    request = context.get("request")
    summary = request.session.get(LOGIN_SUMMARY) if request is not None else None
    if not isinstance(summary, dict):
        return {"summary": None}
    failures = summary.get("failures")
    return {
        "summary": {
            "previous_login": _parse(summary.get("previous_login")),
            "failures": failures if isinstance(failures, int) and failures > 0 else 0,
        }
    }
