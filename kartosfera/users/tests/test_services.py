"""The sign-in services on their own, without the views."""

from __future__ import annotations

import pytest

from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.sca.models import ChallengePurpose
from kartosfera.sca.services import ChallengeError, challenge_issue, login_phone
from kartosfera.users.models import User
from kartosfera.users.services import (
    InvalidCredentials,
    LoginFailure,
    user_login_code_issue,
    user_login_code_verify,
    user_login_password,
)


def test_user_login_password_returns_the_user_without_signing_in_or_auditing_success(cardholder):
    user = user_login_password(identifier=cardholder.identifier, password=cardholder.password)

    assert user == cardholder.user
    assert not AuditEvent.objects.filter(action="users.login.succeeded").exists()


@pytest.mark.parametrize(
    ("identifier", "reason"),
    [("99999999999", LoginFailure.UNKNOWN_IDENTIFIER), (None, LoginFailure.BAD_CREDENTIALS)],
)
def test_user_login_password_raises_the_generic_error_and_audits_why(cardholder, identifier, reason):
    with pytest.raises(InvalidCredentials) as exc:
        user_login_password(identifier=identifier or cardholder.identifier, password="wrong-one-x")

    assert exc.value.message == "Nieprawidłowy identyfikator lub hasło."
    assert AuditEvent.objects.get(action="users.login.failed").after["reason"] == reason


def test_the_audit_rows_are_written_without_a_transaction_of_the_caller(db):
    # Callers need not open a transaction: the audit row must still be written.
    with pytest.raises(InvalidCredentials):
        user_login_password(identifier="nobody", password="whatever-password")

    assert AuditEvent.objects.filter(action="users.login.failed").exists()


def test_while_locked_right_and_wrong_passwords_are_refused_alike(cardholder):
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            user_login_password(identifier=cardholder.identifier, password="wrong-one-x")

    with pytest.raises(InvalidCredentials):
        user_login_password(identifier=cardholder.identifier, password="wrong-one-x")
    with pytest.raises(InvalidCredentials):
        user_login_password(identifier=cardholder.identifier, password=cardholder.password)
    assert User.objects.get(pk=cardholder.user.pk).is_locked()


def test_login_phone_prefers_the_portal_phone(cardholder):
    assert login_phone(cardholder.user) == cardholder.customer.phone_on_file
    cardholder.user.portal_phone = "+48501999888"

    assert login_phone(cardholder.user) == "+48501999888"


def test_a_login_code_names_the_operation_and_lives_5_minutes(cardholder):
    challenge = user_login_code_issue(user=cardholder.user)

    assert challenge.purpose == ChallengePurpose.LOGIN
    assert challenge.operation == "users.login"
    assert challenge.description == "logowanie do portalu"
    assert challenge.max_attempts == 3
    assert 299 <= (challenge.expires_at - challenge.created_at).total_seconds() <= 300


def test_a_code_for_something_else_cannot_complete_a_sign_in(cardholder):
    step_up = challenge_issue(
        actor=Actor.for_user(cardholder.user),
        purpose=ChallengePurpose.STEP_UP,
        customer=cardholder.customer,
        user=cardholder.user,
        phone=cardholder.customer.phone_on_file,
        operation="cards.limits.change",
        description="zmiana limitu",
    )

    with pytest.raises(ValueError):
        user_login_code_verify(challenge=step_up, code="000000")


def test_a_wrong_code_is_a_challenge_error_with_tries_left(cardholder):
    challenge = user_login_code_issue(user=cardholder.user)

    with pytest.raises(ChallengeError) as exc:
        user_login_code_verify(challenge=challenge, code="not-it")

    assert exc.value.attempts_left == 2
