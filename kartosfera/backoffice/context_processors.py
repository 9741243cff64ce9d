from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _

from kartosfera.backoffice.roles import StaffPermission
from kartosfera.backoffice.session import is_staff_realm


def staff(request: HttpRequest) -> dict[str, object]:
    """What the back office's menu needs to know about the signed-in staff member."""
    if not is_staff_realm(request):
        return {}
    member = getattr(request.user, "staff_member", None) if request.user.is_authenticated else None
    return {
        "staff_can_see_activity": bool(member and member.can(StaffPermission.STAFF_ACTIVITY_VIEW)),
        "staff_can_see_reviews": bool(member and member.can(StaffPermission.REVIEW_QUEUE_VIEW)),
        "staff_can_see_jobs": bool(member and member.can(StaffPermission.JOB_RUNS_VIEW)),
        "staff_can_manage_staff": bool(member and member.can(StaffPermission.STAFF_ACCOUNT_MANAGE)),
        # Whose customers the staff member sees: their bank's, or every bank's of the group.
        "staff_scope_label": (member.bank.short_name if member.bank is not None else _("Group")) if member else "",
    }
