from __future__ import annotations

from django import template

from kartosfera.users.session_timeout import SessionPolicy, session_policy

register = template.Library()


@register.simple_tag(takes_context=True)
def session_timeout_policy(context: template.Context) -> SessionPolicy:
    """The signed-in user's session limits, for the warning's data attributes (includes/session_timeout.html)."""
    return session_policy(context.get("user"))
