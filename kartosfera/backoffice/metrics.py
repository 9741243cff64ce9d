"""The back office's sign-in metrics: the staff realm of users/metrics.py's counters, moved by its audit actions."""

from __future__ import annotations

from kartosfera.core.metrics import audit_action_counted
from kartosfera.users.metrics import LOCKOUTS, LOGINS

STAFF_COUNTED = {
    "backoffice.staff.signed_in": LOGINS.labels("staff", "succeeded"),
    "backoffice.staff.sign_in_failed": LOGINS.labels("staff", "failed"),
    "backoffice.staff.sign_in_refused": LOGINS.labels("staff", "refused"),
    "backoffice.staff.locked": LOCKOUTS.labels("staff"),
}
for _action, _counter in STAFF_COUNTED.items():
    audit_action_counted(_action, _counter.inc)
