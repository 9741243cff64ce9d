"""Step-up confirmations with the passkey instead of an SMS code (kartosfera/users/passkey_views.py).

A cardholder who signs in with a passkey only gets no SMS for a confirmation either: the passkey signs a
challenge that carries a digest of the operation [ASVS 5.0 6.6.1 at Level 3; PSD2 dynamic linking].
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from webauthn.helpers import base64url_to_bytes

from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.sca import stepup
from kartosfera.sca.models import ChallengeState, ConfirmWith, SmsChallenge
from kartosfera.sca.services import ChallengeError, challenge_verify
from kartosfera.sca.tests.helpers import begin, code_sent_to
from kartosfera.testing.passkeys_pages import page_options, passkey_add_directly
from kartosfera.testing.webauthn import SoftAuthenticator
from kartosfera.users.passkeys import passkey_only_set, relying_party

pytestmark = pytest.mark.django_db(transaction=True)

OPERATION = "tests.passkey.limit_raise"
PHONE = "+48601000111"
NEW_PHONE = "+48602000222"
RP = relying_party(host="testserver", secure=False)


@pytest.fixture(autouse=True)
def empty_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def runs(monkeypatch) -> list[dict[str, Any]]:
    """A test operation in a copy of the registry (the real one stays untouched)."""
    monkeypatch.setattr(stepup, "_registry", dict(stepup._registry))
    calls: list[dict[str, Any]] = []

    def describe(*, payload: Mapping[str, Any], card: Any) -> str:
        return f"zmiana limitu internetowego na {payload['amount']} PLN"

    @stepup.register(OPERATION, describe=describe)
    def run(*, user: Any, payload: Mapping[str, Any], card: Any, actor: Actor) -> stepup.StepUpResult:
        calls.append(dict(payload))
        return stepup.StepUpResult(message="Limit changed.")

    return calls


def _with_passkey(person, *, only: bool = True) -> SoftAuthenticator:
    user = person.user
    user.portal_phone = PHONE
    user.save(update_fields=["portal_phone"])
    _, authenticator = passkey_add_directly(user, name="x")
    if only:
        passkey_only_set(actor=Actor.for_user(user), user=user, enabled=True)
    user.refresh_from_db()
    locmem.outbox.clear()
    return authenticator


def _start(client: Client, person, amount: int = 2000, **kwargs: Any) -> SmsChallenge:
    client.force_login(person.user)
    response = begin(client, person.user, path="/cards/", operation=OPERATION, payload={"amount": amount}, **kwargs)
    assert response.status_code == 302
    match = re.search(r"/confirm/([0-9a-f-]{36})/", response["Location"])
    assert match, response["Location"]
    return SmsChallenge.objects.get(public_id=match.group(1))


def _url(challenge: SmsChallenge) -> str:
    return reverse("users:stepup_passkey", kwargs={"public_id": challenge.public_id})


def _options(client: Client, challenge: SmsChallenge) -> dict[str, Any]:
    page = client.get(_url(challenge))
    assert page.status_code == 200
    return page_options(page)


def test_a_passkey_only_cardholders_confirmation_sends_no_sms_and_runs_after_the_passkey(client, cardholder, runs):
    authenticator = _with_passkey(cardholder)
    challenge = _start(client, cardholder)

    assert challenge.confirm_with == ConfirmWith.PASSKEY
    assert locmem.outbox == []
    assert AuditEvent.objects.filter(action="sca.passkey.requested", object_id=str(challenge.pk)).exists()
    assert client.get(reverse("sca:confirm", kwargs={"public_id": challenge.public_id}))["Location"] == _url(challenge)

    response = client.post(_url(challenge), {"credential": authenticator.get(_options(client, challenge))})

    assert response.status_code == 302 and runs == [{"amount": 2000}]
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.CONFIRMED and challenge.completed_at is not None
    assert AuditEvent.objects.filter(action="sca.passkey.confirmed", object_id=str(challenge.pk)).exists()
    assert locmem.outbox == []


def test_the_passkey_signs_a_challenge_that_carries_the_operation(client, cardholder, runs):
    _with_passkey(cardholder)
    first = _start(client, cardholder, amount=2000)
    second = _start(client, cardholder, amount=9000)

    signed = [base64url_to_bytes(_options(client, c)["challenge"]) for c in (first, second)]

    for challenge, value in zip((first, second), signed, strict=True):
        operation = json.dumps(
            [
                str(challenge.public_id),
                challenge.operation,
                challenge.description,
                challenge.card_id,
                challenge.payload,
            ],
            sort_keys=True,
            default=str,
        )
        assert len(value) == 48 and value[16:] == hashlib.sha256(operation.encode()).digest()
    assert signed[0][16:] != signed[1][16:]


def test_an_answer_for_another_confirmation_or_a_replay_runs_nothing(client, cardholder, runs):
    authenticator = _with_passkey(cardholder)
    first = _start(client, cardholder, amount=2000)
    options_first = _options(client, first)
    second = _start(client, cardholder, amount=9000)
    _options(client, second)  # the session now waits for the second confirmation's challenge

    response = client.post(_url(second), {"credential": authenticator.get(options_first)})

    assert response.status_code == 200 and runs == []
    second.refresh_from_db()
    assert second.attempts == 1 and second.state == ChallengeState.PENDING
    answer = authenticator.get(_options(client, second))
    client.post(_url(second), {"credential": answer})
    assert runs == [{"amount": 9000}]
    replay = client.post(_url(second), {"credential": answer})
    assert runs == [{"amount": 9000}]
    # A finished confirmation leaves the session: the replay finds nothing to confirm.
    assert replay.status_code == 404


def test_three_refused_answers_end_the_confirmation(client, cardholder, runs):
    _with_passkey(cardholder)
    challenge = _start(client, cardholder)
    stranger = SoftAuthenticator()

    for _ in range(3):
        response = client.post(_url(challenge), {"credential": stranger.get(_options(client, challenge))})

    assert response.status_code == 302 and runs == []
    challenge.refresh_from_db()
    assert challenge.state in {ChallengeState.FAILED, ChallengeState.CANCELLED}
    assert AuditEvent.objects.filter(action="sca.passkey.failed", object_id=str(challenge.pk)).count() == 3


def test_a_typed_code_never_confirms_a_passkey_confirmation(client, cardholder, runs):
    _with_passkey(cardholder)
    challenge = _start(client, cardholder)

    with pytest.raises(ChallengeError) as exc:
        challenge_verify(actor=Actor.for_user(cardholder.user), challenge=challenge, code="123456")

    assert exc.value.code == "passkey_required"
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.PENDING and challenge.attempts == 0


def test_a_new_phone_number_still_needs_its_own_code_besides_the_passkey(client, cardholder, runs):
    authenticator = _with_passkey(cardholder)
    challenge = _start(client, cardholder, verify_phone=NEW_PHONE)

    assert [m.to for m in locmem.outbox] == [NEW_PHONE]  # nothing to the current number: the passkey confirms
    options = _options(client, challenge)
    response = client.post(_url(challenge), {"credential": authenticator.get(options), "verification_code": ""})
    assert response.status_code == 200 and runs == []

    response = client.post(
        _url(challenge),
        {"credential": authenticator.get(_options(client, challenge)), "verification_code": code_sent_to(NEW_PHONE)},
    )
    assert response.status_code == 302 and runs == [{"amount": 2000}]


def test_a_cardholder_with_a_passkey_but_without_passkey_only_confirms_by_sms(client, cardholder, runs):
    _with_passkey(cardholder, only=False)
    challenge = _start(client, cardholder)

    assert challenge.confirm_with == ConfirmWith.SMS
    assert [m.to for m in locmem.outbox] == [PHONE]
    assert client.get(_url(challenge))["Location"] != _url(challenge)


def test_an_sms_confirmation_issued_before_passkey_only_is_neither_confirmed_nor_sent_again(client, cardholder, runs):
    _with_passkey(cardholder, only=False)
    challenge = _start(client, cardholder)
    code = code_sent_to(PHONE)
    user = cardholder.user
    passkey_only_set(actor=Actor.for_user(user), user=user, enabled=True)
    locmem.outbox.clear()
    confirm_url = reverse("sca:confirm", kwargs={"public_id": challenge.public_id})
    resend_url = reverse("sca:resend", kwargs={"public_id": challenge.public_id})

    client.post(resend_url)
    response = client.post(confirm_url, {"code": code}, follow=True)

    assert runs == [] and locmem.outbox == []
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.CANCELLED
    assert "Twoje potwierdzenia wymagają teraz klucza dostępu" in response.content.decode()
    (cancelled,) = AuditEvent.objects.filter(action="sca.challenge.cancelled", object_id=str(challenge.pk))
    assert cancelled.after == {"operation": OPERATION, "reason": "passkey_required"}


def test_a_code_checked_just_before_passkey_only_was_chosen_runs_nothing(client, cardholder, runs):
    _with_passkey(cardholder, only=False)
    challenge = _start(client, cardholder)
    user = cardholder.user
    challenge_verify(actor=Actor.for_user(user), challenge=challenge, code=code_sent_to(PHONE))
    # "Passkey only" is chosen in another tab between the code's check and the operation's run.
    passkey_only_set(actor=Actor.for_user(user), user=user, enabled=True)

    with pytest.raises(ChallengeError) as refused:
        stepup.stepup_complete(actor=Actor.for_user(user), user=user, challenge=challenge)

    assert refused.value.code == "passkey_required" and runs == []
    challenge.refresh_from_db()
    assert challenge.completed_at is None


@override_settings(PORTAL_PASSKEY_REQUIRED=True)
def test_the_level_3_mode_confirms_with_the_passkey_without_passkey_only(client, cardholder, runs):
    _with_passkey(cardholder, only=False)
    challenge = _start(client, cardholder)

    assert challenge.confirm_with == ConfirmWith.PASSKEY and locmem.outbox == []


def test_another_cardholders_confirmation_is_a_404(client, cardholder, second_cardholder, runs):
    _with_passkey(cardholder)
    challenge = _start(client, cardholder)
    other = Client()
    other.force_login(second_cardholder.user)

    assert other.get(_url(challenge)).status_code == 404
    assert other.post(_url(challenge), {"credential": "{}"}).status_code == 404


def test_the_page_is_never_stored_and_needs_the_csrf_token(cardholder, runs):
    _with_passkey(cardholder)
    client = Client(enforce_csrf_checks=True)
    challenge = _start(client, cardholder)

    page = client.get(_url(challenge))
    assert "no-store" in page["Cache-Control"]
    assert client.post(_url(challenge), {"credential": "{}"}).status_code == 403


def test_an_answer_without_its_prompt_uses_no_try(client, cardholder, runs):
    authenticator = _with_passkey(cardholder)
    challenge = _start(client, cardholder)

    # No page has shown a prompt in this session (or it expired): nothing is checked.
    response = client.post(_url(challenge), {"credential": authenticator.get({"challenge": "AAAA"})})

    assert response.status_code == 200 and runs == []
    challenge.refresh_from_db()
    assert challenge.attempts == 0 and challenge.state == ChallengeState.PENDING
    assert (
        client.post(_url(challenge), {"credential": authenticator.get(_options(client, challenge))}).status_code == 302
    )
    assert runs == [{"amount": 2000}]
