"""Sign-in metrics: attempts by realm and result, and lockouts by realm.

Each counter moves with an audit action (core/metrics.py, ``audit_action_counted``), when its row
commits: the metric counts exactly what the audit log records, and a test keeps the two in step.
The realm is ``cardholder`` (the portal, here) or ``staff`` (the back office, backoffice/metrics.py).
"""

from __future__ import annotations

from prometheus_client import Counter

from kartosfera.core.metrics import audit_action_counted

LOGINS = Counter(
    "kartosfera_logins_total",
    "Sign-in attempts by realm (cardholder, staff) and result "
    "(succeeded; failed: a wrong identifier, password or code; refused: right but may not sign in; "
    "code_failed: one wrong SMS code).",
    ["realm", "result"],
)
LOCKOUTS = Counter("kartosfera_lockouts_total", "Accounts locked after wrong attempts, by realm.", ["realm"])

# The portal's audit actions (users/audit_actions.py) and what each counts.
CARDHOLDER_COUNTED = {
    "users.login.succeeded": LOGINS.labels("cardholder", "succeeded"),
    "users.login.failed": LOGINS.labels("cardholder", "failed"),
    "users.login.refused": LOGINS.labels("cardholder", "refused"),
    "users.login.code_failed": LOGINS.labels("cardholder", "code_failed"),
    "users.access.locked": LOCKOUTS.labels("cardholder"),
}
for _action, _counter in CARDHOLDER_COUNTED.items():
    audit_action_counted(_action, _counter.inc)

# The breached-password check (users/pwned.py), portal and staff alike: breached and clean are answers; timeout,
# unreachable, http_error and bad_answer are failures (the password went through unchecked), and skipped the
# checks not made in the minute after a failure. Not an audit action: no row records a password being tried.
BREACHED_PASSWORD_CHECKS = Counter(
    "kartosfera_breached_password_checks_total",
    "New passwords looked up in the Pwned Passwords service, by result (breached, clean; unchecked and let "
    "through: timeout, unreachable, http_error, bad_answer, skipped).",
    ["result"],
)
