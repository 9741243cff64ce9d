"""Signing cardholders in and out, with the audit trail PSD2 and ASVS expect."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.models import AuditEvent
from kartosfera.users.models import User
from kartosfera.users.selectors import cardholder_find_by_identifier


class LoginFailure:
    """Why a sign-in failed, for the audit trail only: the user is never told which."""

    UNKNOWN_IDENTIFIER = "unknown_identifier"
    BAD_CREDENTIALS = "bad_credentials"


@transaction.atomic
def user_login_record(*, identifier: str, user: User | None) -> AuditEvent:
    """Audit one sign-in attempt: ``user`` is the authenticated user, or None when it failed.

    Neither the password nor the identifier as typed is recorded: people type
    their password into the identifier field often enough that storing it would
    leak secrets into the log. A failure for a known identifier is filed under
    that customer, so the back office sees attacks on an account.
    """
    if user is not None:
        return audit_record(
            actor=Actor.for_user(user), action="users.login.succeeded", obj=user, customer_id=user.customer_id
        )
    known = cardholder_find_by_identifier(identifier=identifier)
    if known is None:
        return audit_record(
            actor=Actor.anonymous(), action="users.login.failed", after={"reason": LoginFailure.UNKNOWN_IDENTIFIER}
        )
    return audit_record(
        actor=Actor.anonymous(),
        action="users.login.failed",
        obj=known,
        customer_id=known.customer_id,
        after={"reason": LoginFailure.BAD_CREDENTIALS},
    )


def user_authenticate(*, request: HttpRequest, identifier: str, password: str) -> User | None:
    """Check a cardholder's identifier and password and audit the attempt either way.

    Returns the user, or None for any failure (unknown identifier, wrong
    password, inactive account) so that callers cannot tell them apart.
    """
    user = authenticate(request, identifier=identifier, password=password)
    if user is not None and not isinstance(user, User):  # only a misconfigured backend
        raise TypeError("authentication backends must return kartosfera.users.models.User")
    user_login_record(identifier=identifier, user=user)
    return user


@transaction.atomic
def user_logout_record(*, user: User) -> AuditEvent:
    """Audit that a user signed out (the session itself is ended by the caller)."""
    return audit_record(actor=Actor.for_user(user), action="users.logout", obj=user, customer_id=user.customer_id)
