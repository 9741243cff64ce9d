from __future__ import annotations

from django import template

from kartosfera.users.session_timeout import SessionPolicy, session_policy

register = template.Library()


@register.simple_tag
def session_timeout_policy() -> SessionPolicy:
    """The session limits in force, for the warning's data attributes in base.html."""
    return session_policy()
