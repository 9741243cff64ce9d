from __future__ import annotations

from django.http import HttpRequest

from kartosfera.backoffice.roles import StaffPermission


def staff(request: HttpRequest) -> dict[str, object]:
    """What the back office's menu needs to know about the signed-in staff member."""
    if getattr(request, "session_realm", None) != "staff":
        return {}
    member = getattr(request.user, "staff_member", None) if request.user.is_authenticated else None
    return {"staff_can_see_activity": bool(member and member.can(StaffPermission.STAFF_ACTIVITY_VIEW))}
