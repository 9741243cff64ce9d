"""Passkeys on their own (kartosfera/users/passkeys.py): adding, signing in, refusals, limits, the audit trail.

A software authenticator (kartosfera/testing/webauthn.py) answers with real signatures, so py_webauthn's checks run
unchanged; the browser tests use Chromium's virtual authenticator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings

from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.sca.services import login_phone
from kartosfera.testing.passkeys_pages import passkey_add_directly
from kartosfera.testing.webauthn import SoftAuthenticator
from kartosfera.users.models import Passkey
from kartosfera.users.passkeys import (
    PASSKEYS_PER_USER,
    PasskeyRefused,
    challenge_remember,
    challenge_take,
    other_second_step_allowed,
    passkey_authentication_options,
    passkey_only_set,
    passkey_register,
    passkey_registration_options,
    passkey_remove,
    passkey_verify,
    relying_party,
)
from kartosfera.users.services import user_login_passkey_verify
from kartosfera.users.tests.helpers import last_sms

RP = relying_party(host="testserver", secure=False)


def _add(
    user, authenticator: SoftAuthenticator | None = None, name: str = "Telefon"
) -> tuple[Passkey, SoftAuthenticator]:
    return passkey_add_directly(user, authenticator, name=name)


def _sign(user, authenticator: SoftAuthenticator) -> tuple[bytes, str]:
    options, challenge = passkey_authentication_options(user=user, rp=RP)
    return challenge, authenticator.get(options)


def test_a_passkey_is_added_with_user_verification_and_audited_without_secrets(cardholder):
    passkey, authenticator = _add(cardholder.user)

    assert passkey.credential_id == authenticator.credential_id_b64
    assert passkey.name == "Telefon" and passkey.sign_count == 0 and not passkey.backed_up
    event = AuditEvent.objects.get(action="users.passkey.added")
    assert event.after == {"name": "Telefon", "passkey": str(passkey.public_id), "synced": False}
    assert event.customer_id == cardholder.user.customer_id


def test_the_registration_options_ask_for_user_verification_and_exclude_known_passkeys(cardholder):
    passkey, _ = _add(cardholder.user)
    options, challenge = passkey_registration_options(user=cardholder.user, rp=RP, account_name="jan")

    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["rp"]["id"] == "testserver"
    assert [c["id"] for c in options["excludeCredentials"]] == [passkey.credential_id]
    assert len(challenge) >= 32
    # The user handle names nobody: no PESEL, login or id in it.
    assert str(cardholder.user.pk) not in options["user"]["id"]


@pytest.mark.parametrize(
    ("authenticator", "reason"),
    [
        (SoftAuthenticator(user_verified=False), "InvalidRegistrationResponse"),
        (SoftAuthenticator(origin="https://phishing.example"), "InvalidRegistrationResponse"),
        (SoftAuthenticator(rp_id="phishing.example"), "InvalidRegistrationResponse"),
    ],
    ids=["no-user-verification", "another-origin", "another-rp"],
)
def test_an_answer_without_user_verification_or_from_another_site_adds_nothing(cardholder, authenticator, reason):
    with pytest.raises(PasskeyRefused):
        _add(cardholder.user, authenticator)

    assert not Passkey.objects.exists()
    assert AuditEvent.objects.get(action="users.passkey.add_refused").after == {"reason": reason}


def test_a_stale_challenge_adds_nothing(cardholder):
    options, _ = passkey_registration_options(user=cardholder.user, rp=RP, account_name="jan")
    _, other_challenge = passkey_registration_options(user=cardholder.user, rp=RP, account_name="jan")

    with pytest.raises(PasskeyRefused):
        passkey_register(
            actor=Actor.for_user(cardholder.user),
            user=cardholder.user,
            rp=RP,
            challenge=other_challenge,
            response=SoftAuthenticator().create(options),
            name="x",
        )
    assert not Passkey.objects.exists()


@override_settings(PASSKEY_ALLOW_SYNCED=False)
def test_a_bank_that_wants_device_bound_passkeys_refuses_synced_ones(cardholder):
    with pytest.raises(PasskeyRefused) as exc:
        _add(cardholder.user, SoftAuthenticator(synced=True))

    assert "synced" in exc.value.message or "synchronizowane" in exc.value.message
    assert AuditEvent.objects.get(action="users.passkey.add_refused").after == {"reason": "synced_not_allowed"}
    # One that may sync but has not yet (backup eligible, not backed up) is a synced passkey all the same.
    with pytest.raises(PasskeyRefused):
        _add(cardholder.user, SoftAuthenticator(synced=False, backup_eligible=True))
    _add(cardholder.user, SoftAuthenticator(synced=False))


def test_a_synced_passkey_added_before_the_bank_refused_them_still_signs_in(cardholder):
    # The setting governs new passkeys: refusing one already added would lock out a passkey-only holder.
    _, authenticator = _add(cardholder.user, SoftAuthenticator(synced=True))

    with override_settings(PASSKEY_ALLOW_SYNCED=False):
        passkey_verify(user=cardholder.user, rp=RP, **_answer(cardholder.user, authenticator))


def _answer(user, authenticator: SoftAuthenticator) -> dict[str, Any]:
    challenge, response = _sign(user, authenticator)
    return {"challenge": challenge, "response": response}


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "a\u0007b"])
def test_a_passkey_needs_a_printable_name(cardholder, name):
    with pytest.raises(ValidationFailed):
        _add(cardholder.user, name=name)
    assert not Passkey.objects.exists()


def test_the_same_authenticator_cannot_be_added_twice_and_the_count_is_capped(cardholder):
    _, authenticator = _add(cardholder.user)
    with pytest.raises(DomainError) as exc:
        _add(cardholder.user, authenticator)
    assert exc.value.code == "passkey_exists"

    for _ in range(PASSKEYS_PER_USER - 1):
        _add(cardholder.user)
    with pytest.raises(DomainError) as exc:
        _add(cardholder.user)
    assert exc.value.code == "passkey_limit"
    assert Passkey.objects.count() == PASSKEYS_PER_USER


def test_signing_in_with_the_passkey_completes_the_sign_in_and_moves_the_counter(cardholder):
    passkey, authenticator = _add(cardholder.user)
    challenge, answer = _sign(cardholder.user, authenticator)

    completed = user_login_passkey_verify(user=cardholder.user, rp=RP, challenge=challenge, response=answer)

    assert completed.user == cardholder.user
    passkey.refresh_from_db()
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    assert AuditEvent.objects.get(action="users.login.succeeded").after == {"method": "password_passkey"}


def test_an_answer_cannot_be_replayed(cardholder):
    _, authenticator = _add(cardholder.user)
    challenge, answer = _sign(cardholder.user, authenticator)
    passkey_verify(user=cardholder.user, rp=RP, challenge=challenge, response=answer)

    with pytest.raises(PasskeyRefused):
        passkey_verify(user=cardholder.user, rp=RP, challenge=challenge, response=answer)
    assert AuditEvent.objects.get(action="users.passkey.use_refused").after == {"reason": "sign_count"}


def test_a_counter_that_goes_back_is_a_cloned_authenticator_and_refused(cardholder):
    _, authenticator = _add(cardholder.user)
    authenticator.sign_count = 5
    challenge, answer = _sign(cardholder.user, authenticator)
    passkey_verify(user=cardholder.user, rp=RP, challenge=challenge, response=answer)
    authenticator.sign_count = 2
    challenge, answer = _sign(cardholder.user, authenticator)

    with pytest.raises(PasskeyRefused):
        passkey_verify(user=cardholder.user, rp=RP, challenge=challenge, response=answer)


def test_another_users_passkey_never_signs_this_user_in_and_counts_as_a_failure(cardholder, second_cardholder):
    _add(cardholder.user)
    _, other = _add(second_cardholder.user)
    challenge, answer = _sign(cardholder.user, other)

    with pytest.raises(PasskeyRefused):
        user_login_passkey_verify(user=cardholder.user, rp=RP, challenge=challenge, response=answer)

    assert AuditEvent.objects.get(action="users.passkey.use_refused").after == {"reason": "unknown_credential"}
    failed = AuditEvent.objects.get(action="users.login.failed")
    assert failed.after["reason"] == "passkey_refused"
    cardholder.user.refresh_from_db()
    assert cardholder.user.failed_login_count == 1


@pytest.mark.parametrize(
    "answer",
    ["", "{}", "not json", json.dumps({"id": "x" * 2000}), json.dumps([1, 2]), "[" * 5000, '{"id": ' + "[" * 5000],
)
def test_garbage_answers_are_refused_not_crashing(cardholder, answer):
    _add(cardholder.user)
    _, challenge = passkey_authentication_options(user=cardholder.user, rp=RP)

    with pytest.raises(PasskeyRefused):
        passkey_verify(user=cardholder.user, rp=RP, challenge=challenge, response=answer)


def test_the_challenge_is_single_use_bound_to_its_purpose_and_user_and_expires(cardholder, time_machine):
    time_machine.move_to("2026-11-30 12:00:00+00:00")
    session: dict = {}
    challenge_remember(session, purpose="login", user_id=1, challenge=b"c" * 32)
    assert challenge_take(session, purpose="add", user_id=1) is None
    # Another ceremony (a second tab) keeps its own challenge: this one's is still there.
    challenge_remember(session, purpose="stepup:x", user_id=1, challenge=b"d" * 32)
    assert challenge_take(session, purpose="stepup:x", user_id=1) == b"d" * 32
    assert challenge_take(session, purpose="login", user_id=2) is None
    challenge_remember(session, purpose="login", user_id=1, challenge=b"c" * 32)
    assert challenge_take(session, purpose="login", user_id=1) == b"c" * 32
    assert challenge_take(session, purpose="login", user_id=1) is None
    challenge_remember(session, purpose="login", user_id=1, challenge=b"c" * 32)
    time_machine.shift(4 * 60)
    assert challenge_take(session, purpose="login", user_id=1) is None


def test_passkey_only_needs_a_passkey_and_keeps_the_last_one(cardholder):
    user = cardholder.user
    with pytest.raises(DomainError):
        passkey_only_set(actor=Actor.for_user(user), user=user, enabled=True)
    passkey, _ = _add(user)
    assert other_second_step_allowed(user=user, has_passkey=True)

    user = passkey_only_set(actor=Actor.for_user(user), user=user, enabled=True)

    assert not other_second_step_allowed(user=user, has_passkey=True)
    assert other_second_step_allowed(user=user, has_passkey=False)
    with pytest.raises(DomainError) as exc:
        passkey_remove(actor=Actor.for_user(user), passkey=passkey)
    assert exc.value.code == "last_passkey"
    assert AuditEvent.objects.get(action="users.passkey_only.changed").after == {"passkey_only": True}

    passkey_only_set(actor=Actor.for_user(user), user=user, enabled=False)
    passkey_remove(actor=Actor.for_user(user), passkey=passkey)
    assert not Passkey.objects.exists()
    assert AuditEvent.objects.get(action="users.passkey.removed").after["name"] == "Telefon"


@override_settings(PORTAL_PASSKEY_REQUIRED=True)
def test_the_level_3_mode_takes_the_sms_step_away_from_cardholders_with_a_passkey(cardholder):
    assert other_second_step_allowed(user=cardholder.user, has_passkey=False)
    assert not other_second_step_allowed(user=cardholder.user, has_passkey=True)


def test_adding_and_removing_a_passkey_is_announced_by_sms_to_the_code_phone(
    cardholder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        passkey, _ = _add(cardholder.user)
    assert "dodano klucz dostepu" in last_sms()  # Polish, in GSM-7 letters
    sent_to = locmem.outbox[-1].to
    assert sent_to == login_phone(cardholder.user)

    with django_capture_on_commit_callbacks(execute=True):
        passkey_remove(actor=Actor.for_user(cardholder.user), passkey=passkey)
    assert len(locmem.outbox) == 2 and locmem.outbox[-1].to == sent_to
