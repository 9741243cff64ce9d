from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.notifications.models import OutboundSms, SmsStatus
from kartosfera.sca.models import ChallengePurpose, ChallengeState
from kartosfera.sca.services import (
    MAX_SENDS,
    ChallengeError,
    CodeInvalid,
    challenge_issue,
    challenge_resend,
    challenge_verify,
)

SYSTEM = Actor.system("tests")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


def _issue(person, purpose=ChallengePurpose.STEP_UP):
    return challenge_issue(
        actor=SYSTEM,
        purpose=purpose,
        customer=person.customer,
        user=person.user,
        phone=person.customer.phone_on_file,
        operation="tests.limit.change",
        description="zmiana limitu internetowego karty *1234 na 2000 PLN",
    )


def _last_code() -> str:
    match = re.search(r"\b([0-9]{6}|[A-Z2-9]{10})\b", locmem.outbox[-1].text)
    assert match, locmem.outbox[-1].text
    return match.group(1)


def test_the_code_is_sent_after_commit_naming_the_operation_and_is_stored_only_as_a_digest(cardholder):
    challenge = _issue(cardholder)
    assert len(locmem.outbox) == 1
    message = locmem.outbox[0]
    assert message.to == cardholder.customer.phone_on_file
    assert "zmiana limitu internetowego karty *1234 na 2000 PLN" in message.text
    code = _last_code()
    challenge.refresh_from_db()
    assert code not in challenge.code_digest
    sms = OutboundSms.objects.get()
    assert sms.status == SmsStatus.SENT and sms.text_ciphertext == ""
    event = AuditEvent.objects.get(action="sca.code.sent")
    assert code not in str(event.after) and event.after["phone"].startswith("+48 ***")


def test_the_right_code_confirms_once_and_a_replay_is_refused(cardholder):
    challenge = _issue(cardholder)
    code = _last_code()
    challenge = challenge_verify(actor=SYSTEM, challenge=challenge, code=code)
    assert challenge.state == ChallengeState.CONFIRMED
    with pytest.raises(ChallengeError) as exc:
        challenge_verify(actor=SYSTEM, challenge=challenge, code=code)
    assert exc.value.code == "code_used"


def test_three_wrong_codes_end_the_challenge_even_the_right_one_after(cardholder):
    challenge = _issue(cardholder)
    code = _last_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (2, 1):
        with pytest.raises(CodeInvalid) as exc:
            challenge_verify(actor=SYSTEM, challenge=challenge, code=wrong)
        assert exc.value.attempts_left == left
    with pytest.raises(ChallengeError) as exc:
        challenge_verify(actor=SYSTEM, challenge=challenge, code=wrong)
    assert exc.value.code == "too_many_attempts"
    with pytest.raises(ChallengeError):
        challenge_verify(actor=SYSTEM, challenge=challenge, code=code)
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.FAILED and challenge.attempts == 3
    assert AuditEvent.objects.filter(action="sca.code.failed").count() == 3


def test_a_new_code_does_not_reset_the_tries(cardholder):
    challenge = _issue(cardholder)
    first = _last_code()
    with pytest.raises(CodeInvalid):
        challenge_verify(actor=SYSTEM, challenge=challenge, code=f"{(int(first) + 1) % 10**6:06d}")
    challenge = challenge_resend(actor=SYSTEM, challenge=challenge)
    second = _last_code()
    assert challenge.attempts == 1 and challenge.sends == 2
    if first != second:
        with pytest.raises(CodeInvalid) as exc:
            challenge_verify(actor=SYSTEM, challenge=challenge, code=first)
        assert exc.value.attempts_left == 1
    assert challenge_verify(actor=SYSTEM, challenge=challenge, code=second).state == ChallengeState.CONFIRMED


def test_only_three_codes_are_sent_for_one_operation(cardholder):
    challenge = _issue(cardholder)
    for _ in range(MAX_SENDS - 1):
        challenge = challenge_resend(actor=SYSTEM, challenge=challenge)
    with pytest.raises(ChallengeError) as exc:
        challenge_resend(actor=SYSTEM, challenge=challenge)
    assert exc.value.code == "resend_limit"


@pytest.mark.parametrize(("purpose", "minutes"), [(ChallengePurpose.LOGIN, 5), (ChallengePurpose.REGISTRATION, 10)])
def test_codes_expire(cardholder, purpose, minutes):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        challenge = _issue(cardholder, purpose=purpose)
        code = _last_code()
    with time_machine.travel(start + dt.timedelta(minutes=minutes, seconds=-1), tick=False):
        # still valid one second before the end (checked without using it up)
        challenge.refresh_from_db()
        assert not challenge.is_expired()
    with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
        with pytest.raises(ChallengeError) as exc:
            challenge_verify(actor=SYSTEM, challenge=challenge, code=code)
        assert exc.value.code == "code_expired"


def test_the_activation_password_is_ten_unambiguous_characters(cardholder):
    _issue(cardholder, purpose=ChallengePurpose.REGISTRATION)
    code = _last_code()
    assert len(code) == 10 and not set(code) & set("01OIl")
