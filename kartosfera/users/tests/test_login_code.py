"""The second sign-in step: the SMS code (6 digits, single use, 5 minutes, 3 tries)."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.utils import timezone

from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.sca.models import ChallengeState, SmsChallenge
from kartosfera.users.models import User
from kartosfera.users.services import user_access_block
from kartosfera.users.session_keys import LOGIN_PENDING
from kartosfera.users.tests.helpers import GENERIC_ERROR, LOGIN_CODE_URL, LOGIN_URL, last_login_code


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_the_code_page_without_a_pending_sign_in_goes_to_the_login_page(portal, db):
    response = portal.get(LOGIN_CODE_URL)

    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL


def test_a_wrong_code_says_how_many_tries_are_left_and_does_not_sign_in(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)

    response = portal.code_step(_wrong(last_login_code()))

    assert response.status_code == 200
    assert "Kod jest nieprawidłowy. Pozostałe próby: 2." in response.content.decode()
    assert portal.signed_in_user_id is None
    event = AuditEvent.objects.get(action="users.login.code_failed")
    assert event.customer_id == cardholder.customer.pk
    assert event.after == {"attempts_left": 2}


def test_a_malformed_code_is_a_form_error_and_uses_no_try(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)

    response = portal.code_step("12ab")

    assert "Wpisz 6 cyfr kodu." in response.content.decode()
    assert SmsChallenge.objects.get().attempts == 0


def test_a_code_typed_with_spaces_is_accepted(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    code = last_login_code()

    portal.code_step(f"{code[:3]} {code[3:]}")

    assert portal.signed_in_user_id == cardholder.user.pk


def test_three_wrong_codes_end_the_challenge_and_send_the_user_back_to_the_start(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    code = last_login_code()
    portal.code_step(_wrong(code))
    portal.code_step(_wrong(code))

    response = portal.code_step(_wrong(code))

    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert LOGIN_PENDING not in portal.client.session
    assert SmsChallenge.objects.get().state == ChallengeState.FAILED
    page = portal.get(LOGIN_URL).content.decode()
    assert "Trzy razy wpisano błędny kod SMS. Zaloguj się ponownie." in page
    # Even the right code is now worthless: the challenge is over.
    assert portal.get(LOGIN_CODE_URL)["Location"] == LOGIN_URL
    assert portal.signed_in_user_id is None


def test_three_wrong_codes_count_as_one_failed_authentication(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    code = last_login_code()
    for _ in range(3):
        portal.code_step(_wrong(code))

    cardholder.user.refresh_from_db()
    assert cardholder.user.failed_login_count == 1
    failed = AuditEvent.objects.get(action="users.login.failed")
    assert failed.after == {"reason": "code_attempts_exceeded", "failed_in_a_row": 1}


def test_guessing_codes_after_the_right_password_ends_in_a_lock(portal, cardholder):
    # Somebody who knows the password but not the phone: each round of 3 wrong
    # codes is a failed authentication, and the 3rd locks access (PSD2 RTS art. 4(3)(d)).
    for _ in range(3):
        portal.password_step(cardholder.identifier, cardholder.password)
        code = last_login_code()
        for _ in range(3):
            portal.code_step(_wrong(code))

    cardholder.user.refresh_from_db()
    assert cardholder.user.is_locked()
    response = portal.password_step(cardholder.identifier, cardholder.password)
    assert GENERIC_ERROR in response.content.decode()


def test_starting_over_after_wrong_codes_counts_as_a_failure_and_ends_in_a_lock(portal, cardholder):
    """Two wrong codes, then a fresh sign-in for a new code: the abandoned round still counts."""
    for _ in range(3):
        portal.password_step(cardholder.identifier, cardholder.password)
        code = last_login_code()
        for _ in range(2):
            portal.code_step(_wrong(code))

    cardholder.user.refresh_from_db()
    assert cardholder.user.failed_login_count == 2
    # The third fresh sign-in closes the third abandoned round and locks.
    response = portal.password_step(cardholder.identifier, cardholder.password)
    cardholder.user.refresh_from_db()
    assert cardholder.user.is_locked()
    assert GENERIC_ERROR in response.content.decode()
    assert not SmsChallenge.objects.filter(state="pending").exists()


def test_starting_over_without_a_wrong_code_does_not_count(portal, cardholder):
    for _ in range(3):
        portal.password_step(cardholder.identifier, cardholder.password)
    cardholder.user.refresh_from_db()
    assert cardholder.user.failed_login_count == 0
    assert SmsChallenge.objects.filter(state="pending").count() == 1


def test_a_new_code_replaces_the_old_one_but_keeps_the_tries_used(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    old_code = last_login_code()
    portal.code_step(_wrong(old_code))

    response = portal.post(LOGIN_CODE_URL, {"action": "resend"})

    assert response["Location"] == LOGIN_CODE_URL
    assert len(locmem.outbox) == 2
    new_code = last_login_code()
    challenge = SmsChallenge.objects.get()
    assert challenge.attempts == 1
    assert challenge.sends == 2
    assert "Wysłaliśmy nowy kod." in portal.get(LOGIN_CODE_URL).content.decode()
    if new_code != old_code:
        portal.code_step(old_code)
        assert portal.signed_in_user_id is None
    portal.code_step(new_code)
    assert portal.signed_in_user_id == cardholder.user.pk


def test_after_three_codes_no_more_are_sent(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    portal.post(LOGIN_CODE_URL, {"action": "resend"})
    portal.post(LOGIN_CODE_URL, {"action": "resend"})

    response = portal.post(LOGIN_CODE_URL, {"action": "resend"})

    assert response["Location"] == LOGIN_URL
    assert len(locmem.outbox) == 3


def test_an_expired_code_is_refused_and_a_new_one_works(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    code = last_login_code()

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5, seconds=1)):
        response = portal.code_step(code)
        assert "Kod wygasł. Poproś o nowy." in response.content.decode()
        assert portal.signed_in_user_id is None
        portal.post(LOGIN_CODE_URL, {"action": "resend"})
        portal.code_step(last_login_code())

    assert portal.signed_in_user_id == cardholder.user.pk


def test_cancelling_ends_the_challenge(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    code = last_login_code()

    response = portal.post(LOGIN_CODE_URL, {"action": "cancel"})

    assert response["Location"] == LOGIN_URL
    assert SmsChallenge.objects.get().state == ChallengeState.CANCELLED
    assert LOGIN_PENDING not in portal.client.session
    portal.code_step(code)
    assert portal.signed_in_user_id is None


def test_signing_in_again_cancels_the_previous_code(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    first = SmsChallenge.objects.get()

    portal.password_step(cardholder.identifier, cardholder.password)

    first.refresh_from_db()
    assert first.state == ChallengeState.CANCELLED
    assert SmsChallenge.objects.filter(state=ChallengeState.PENDING).count() == 1


def test_the_challenge_is_bound_to_the_session_that_asked_for_it(portal, second_portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    code = last_login_code()

    response = second_portal.code_step(code)

    assert response["Location"] == LOGIN_URL
    assert second_portal.signed_in_user_id is None


def test_a_session_cannot_point_at_somebody_elses_challenge(portal, second_portal, cardholder, second_cardholder):
    second_portal.password_step(second_cardholder.identifier, second_cardholder.password)
    bartosz_challenge = second_portal.client.session[LOGIN_PENDING]["challenge"]
    bartosz_code = last_login_code(to=second_cardholder.customer.phone_on_file)
    portal.password_step(cardholder.identifier, cardholder.password)
    session = portal.client.session
    session[LOGIN_PENDING] = {**session[LOGIN_PENDING], "challenge": bartosz_challenge}
    session.save()

    response = portal.code_step(bartosz_code)

    assert response["Location"] == LOGIN_URL
    assert portal.signed_in_user_id is None


def test_a_block_between_the_steps_refuses_the_sign_in(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    user_access_block(actor=Actor.for_user(cardholder.user), user=cardholder.user, by="customer")

    response = portal.code_step(last_login_code())

    assert response["Location"] == LOGIN_URL
    assert portal.signed_in_user_id is None
    assert "Twój dostęp do portalu jest zablokowany." in portal.get(LOGIN_URL).content.decode()


def test_a_completed_sign_in_resets_the_failure_count(portal, cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(failed_login_count=2)

    portal.sign_in(cardholder.identifier, cardholder.password)

    cardholder.user.refresh_from_db()
    assert cardholder.user.failed_login_count == 0


def test_the_right_password_alone_does_not_reset_the_failure_count(portal, cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(failed_login_count=2)

    portal.password_step(cardholder.identifier, cardholder.password)

    cardholder.user.refresh_from_db()
    assert cardholder.user.failed_login_count == 2


def test_a_used_code_cannot_sign_in_another_session(portal, second_portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    code = last_login_code()
    pending = dict(portal.client.session[LOGIN_PENDING])
    portal.code_step(code)
    session = second_portal.client.session
    session[LOGIN_PENDING] = pending  # as if the pending state had been copied
    session.save()

    response = second_portal.code_step(code)

    assert response["Location"] == LOGIN_URL
    assert second_portal.signed_in_user_id is None
