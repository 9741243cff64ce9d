"""Staff roles and what each may do: ONE matrix, read by services, views, tests and docs.

Least privilege [law: PCI DSS 7.2]: the call centre (agent) helps a caller it
can only verify by what the caller knows, so it cannot change the phone
numbers codes go to or assign identification numbers (changes that hand an
account to whoever asks: the SIM-swap fraud); a branch employee sees an
identity document and can. A supervisor can do all of that, oversees the
staff's actions, reviews the card payments the card core flagged (stand-in
advices), issues a corrected credit card statement (the bank's own act, which
restates what the customer owes) and manages the staff accounts of their scope (a
reset of the password and authenticator, a disable or re-enable: never their own);
an auditor reads everything and changes nothing.

Each role exists in a scope (banks/scope.py): the contact centre is the group's
and serves every bank's customers; a branch is one bank's; supervisors and
auditors are either the group's or one bank's. The scope decides whose customers
the permissions reach: a bank's staff, only the customers, cards and events of
their bank (bank secrecy, Prawo bankowe art. 104).
docs/backoffice.md holds the same table (role by scope by action); a test keeps the two equal.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffRole(models.TextChoices):
    AGENT = "agent", _("Call-centre agent")
    BRANCH = "branch", _("Branch employee")
    SUPERVISOR = "supervisor", _("Supervisor")
    AUDITOR = "auditor", _("Auditor (read-only)")


class StaffScope(models.TextChoices):
    """Whose staff a role is: the group's (every bank's customers) or one bank's (its customers only)."""

    GROUP = "group", _("Group")
    BANK = "bank", _("Bank")


# Which roles exist in which scope (the database's constraints on StaffMember say the same).
ROLE_SCOPES: dict[str, frozenset[str]] = {
    StaffRole.AGENT: frozenset({StaffScope.GROUP}),
    StaffRole.BRANCH: frozenset({StaffScope.BANK}),
    StaffRole.SUPERVISOR: frozenset({StaffScope.GROUP, StaffScope.BANK}),
    StaffRole.AUDITOR: frozenset({StaffScope.GROUP, StaffScope.BANK}),
}


class StaffPermission(models.TextChoices):
    CUSTOMER_VIEW = "customer_view", _("Find customers and see their cards, access and audit trail")
    CALLER_VERIFY = "caller_verify", _("Record how the caller was verified")
    PORTAL_UNLOCK = "portal_unlock", _("Unlock portal access after wrong passwords")
    PORTAL_BLOCK = "portal_block", _("Block portal access")
    PORTAL_UNBLOCK = "portal_unblock", _("Unblock portal access")
    PORTAL_SESSIONS_END = "portal_sessions_end", _("End every portal session of a customer (access stays open)")
    PHONE_ON_FILE_CHANGE = "phone_on_file_change", _("Change the phone number on file")
    PORTAL_PHONE_CHANGE = "portal_phone_change", _("Change the portal phone number")
    NONRESIDENT_ID_ASSIGN = "nonresident_id_assign", _("Assign a non-resident's identification number")
    CARD_BLOCK = "card_block", _("Temporarily block a card")
    CARD_UNBLOCK = "card_unblock", _("Unblock a card")
    CARD_CANCEL = "card_cancel", _("Cancel a card")
    THREEDS_UNLOCK = "threeds_unlock", _("Unblock internet (3-D Secure) payments")
    WRONG_PIN_RESET = "wrong_pin_reset", _("Reset the wrong-PIN counter")
    BLIK_SWITCH_OFF = "blik_switch_off", _("Switch a customer's BLIK off")
    PAYMENTS_STOP = "payments_stop", _("Stop all of a customer's payments (cards, tokens, BLIK)")
    PAYMENTS_STOP_LIFT = "payments_stop_lift", _("Lift a customer's stop of all payments")
    DEVICE_BLOCK = "device_block", _("Block a BS Pay device")
    TOKEN_SUSPEND = "token_suspend", _("Suspend a card's token in a phone wallet")
    STAFF_ACTIVITY_VIEW = "staff_activity_view", _("See all staff actions")
    REVIEW_QUEUE_VIEW = "review_queue_view", _("See the card payments flagged for review, across customers")
    AUTHORIZATION_REVIEW = "authorization_review", _("Mark a card payment flagged for review as reviewed")
    STATEMENT_CORRECT = "statement_correct", _("Issue a corrected credit card statement")
    JOB_RUNS_VIEW = "job_runs_view", _("See the scheduled jobs' last runs")
    STAFF_ACCOUNT_MANAGE = (
        "staff_account_manage",
        _("Reset a staff member's password and authenticator, disable or re-enable a staff account"),
    )


P = StaffPermission
_CALL_CENTRE = frozenset(
    {
        P.CUSTOMER_VIEW,
        P.CALLER_VERIFY,
        P.PORTAL_UNLOCK,
        P.PORTAL_BLOCK,
        P.PORTAL_UNBLOCK,
        P.PORTAL_SESSIONS_END,
        P.CARD_BLOCK,
        P.CARD_UNBLOCK,
        P.CARD_CANCEL,
        P.THREEDS_UNLOCK,
        P.WRONG_PIN_RESET,
        P.BLIK_SWITCH_OFF,
        P.PAYMENTS_STOP,
        P.DEVICE_BLOCK,
        P.TOKEN_SUSPEND,
    }
)
# Lifting a customer's stop of all payments gives every payment back: a caller who only knows the customer's
# data could be the fraudster the stop is against, so the bank lifts it only in person (the holder lifts it
# with an SMS code; this is for one who lost the phone). docs/stop-everything.md.
_IN_PERSON = frozenset({P.PHONE_ON_FILE_CHANGE, P.PORTAL_PHONE_CHANGE, P.NONRESIDENT_ID_ASSIGN, P.PAYMENTS_STOP_LIFT})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    StaffRole.AGENT: _CALL_CENTRE,
    StaffRole.BRANCH: _CALL_CENTRE | _IN_PERSON,
    StaffRole.SUPERVISOR: _CALL_CENTRE
    | _IN_PERSON
    | {
        P.STAFF_ACTIVITY_VIEW,
        P.REVIEW_QUEUE_VIEW,
        P.AUTHORIZATION_REVIEW,
        P.STATEMENT_CORRECT,
        P.JOB_RUNS_VIEW,
        P.STAFF_ACCOUNT_MANAGE,
    },
    StaffRole.AUDITOR: frozenset({P.CUSTOMER_VIEW, P.STAFF_ACTIVITY_VIEW, P.REVIEW_QUEUE_VIEW, P.JOB_RUNS_VIEW}),
}

# What only the group's staff may do, whatever the role: the scheduled jobs run once for every bank of the group
# (one statement close, one block expiry over all cards), so their runs' counts are every bank's together; a
# bank's staff would learn the other banks' figures (bank secrecy, Prawo bankowe art. 104), and a job is not
# theirs to watch: the group runs it.
GROUP_ONLY = frozenset({P.JOB_RUNS_VIEW})

# Changes that hand the account to whoever asks need the person in front of
# the employee with an identity document, whatever the role.
NEEDS_IDENTITY_DOCUMENT = _IN_PERSON


def role_allows(role: str, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def role_exists_in(role: str, scope: str) -> bool:
    """Whether ``role`` exists in ``scope`` (a StaffScope): no bank has agents, the group has no branch."""
    return scope in ROLE_SCOPES.get(role, frozenset())


def role_scope_allows(role: str, scope: str, permission: str) -> bool:
    """The matrix: whether ``role`` in ``scope`` may do ``permission`` (to the customers the scope reaches)."""
    return (
        role_exists_in(role, scope)
        and role_allows(role, permission)
        and (permission not in GROUP_ONLY or scope == StaffScope.GROUP)
    )


# The columns of the matrix: the group's posts first, then a bank's.
STAFF_POSTS: list[tuple[str, str]] = [
    (str(role), str(scope)) for scope in StaffScope for role in StaffRole if role_exists_in(role, scope)
]
_REACH = {StaffScope.GROUP: "every bank's", StaffScope.BANK: "own bank's"}


def permissions_table_markdown() -> str:
    """The matrix (role by scope by action) as docs/backoffice.md shows it (a test compares the two)."""
    header = "| action | " + " | ".join(f"{role} ({scope})" for role, scope in STAFF_POSTS) + " |"
    rule = "|---|" + "---|" * len(STAFF_POSTS)
    reach = "| customers reached | " + " | ".join(_REACH[StaffScope(scope)] for _role, scope in STAFF_POSTS) + " |"
    rows = [
        f"| {perm.value} | "
        + " | ".join("yes" if role_scope_allows(role, scope, perm) else "—" for role, scope in STAFF_POSTS)
        + " |"
        for perm in StaffPermission
    ]
    return "\n".join([header, rule, reach, *rows])
