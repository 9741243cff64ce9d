"""The step-up mechanism, driven through a test-only operation (a card limit raise)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.sca import stepup
from kartosfera.sca.models import ChallengePurpose, ChallengeState, SmsChallenge
from kartosfera.sca.services import ChallengeError
from kartosfera.sca.tests.helpers import begin, challenge_from, code_sent_to, wrong
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db(transaction=True)

OPERATION = "tests.limit.raise"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
PHONE = "+48601000111"


class Runs:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.refuse = False


@pytest.fixture
def runs(monkeypatch) -> Runs:
    """Registers the test operation in a copy of the registry (the real one stays untouched)."""
    monkeypatch.setattr(stepup, "_registry", dict(stepup._registry))
    record = Runs()

    def describe(*, payload: Mapping[str, Any], card: Any) -> str:
        return f"zmiana limitu internetowego karty {stepup.card_label(card)} na {payload['amount']} PLN"

    @stepup.register(OPERATION, describe=describe)
    def run(*, user: Any, payload: Mapping[str, Any], card: Any, actor: Actor) -> stepup.StepUpResult:
        if record.refuse:
            raise DomainError("The limit cannot be raised now.", code="limit_refused")
        record.calls.append({"user": user.pk, "payload": dict(payload), "card": card.pk if card else None})
        return stepup.StepUpResult(message="Limit changed.")

    return record


def _start(client: Client, person: Any, card: Any, amount: int = 2000) -> SmsChallenge:
    response = begin(client, person.user, path="/cards/", operation=OPERATION, payload={"amount": amount}, card=card)
    return challenge_from(response)


def _confirm_url(challenge: SmsChallenge) -> str:
    return reverse("sca:confirm", kwargs={"public_id": challenge.public_id})


def test_a_cards_code_comes_from_the_cards_bank_and_names_it(anna, cardholder, runs):
    bank = factories.bank_factory("BS-LOMZA", sms_sender="BS Lomza")
    customer = cardholder.customer
    factories.customer_factory(bank=bank, pesel=customer.pesel, first_name="Anna", last_name="Nowak")
    card = factories.card_factory(customer=customer, product=factories.product_factory(bank=bank))

    challenge = _start(anna, cardholder, card)

    [sms] = locmem.outbox
    assert sms.sender == "BS Lomza"
    assert sms.text.startswith("BS Lomza. Kod ")
    # A new code for the same operation comes from the same bank.
    anna.post(reverse("sca:resend", kwargs={"public_id": challenge.public_id}))
    assert [m.sender for m in locmem.outbox] == ["BS Lomza", "BS Lomza"]


def test_the_sms_and_the_page_name_the_operation_and_the_card(anna, cardholder, card, runs):
    challenge = _start(anna, cardholder, card)

    expected = f"zmiana limitu internetowego karty *{card.pan_last4} na 2000 PLN"
    assert challenge.purpose == ChallengePurpose.STEP_UP and challenge.card_id == card.pk
    assert challenge.description == expected
    [sms] = locmem.outbox
    assert sms.to == PHONE and expected in sms.text
    page = anna.get(_confirm_url(challenge))
    assert page.status_code == 200
    assert expected in page.content.decode()
    assert "+48 *** *** 111" in page.content.decode()


def test_the_operation_does_not_run_without_the_code(anna, cardholder, card, runs):
    challenge = _start(anna, cardholder, card)

    assert runs.calls == []
    response = anna.post(_confirm_url(challenge), {"code": ""})
    assert response.status_code == 200
    assert "Wpisz 6-cyfrowy kod z SMS-a." in response.content.decode()
    assert runs.calls == []
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.PENDING and challenge.attempts == 0


def test_the_right_code_runs_the_operation_once_and_shows_its_message(anna, cardholder, card, runs):
    challenge = _start(anna, cardholder, card)

    response = anna.post(_confirm_url(challenge), {"code": code_sent_to(PHONE)}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("portal:card_list")
    assert "Limit changed." in response.content.decode()
    assert runs.calls == [{"user": cardholder.user.pk, "payload": {"amount": 2000}, "card": card.pk}]
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.CONFIRMED and challenge.completed_at is not None
    assert AuditEvent.objects.filter(action="sca.operation.completed", object_id=str(challenge.pk)).count() == 1


def test_a_replayed_code_runs_nothing_again(anna, cardholder, card, runs):
    challenge = _start(anna, cardholder, card)
    code = code_sent_to(PHONE)
    anna.post(_confirm_url(challenge), {"code": code})
    # The session forgot the finished confirmation: its link is now a 404.
    assert anna.post(_confirm_url(challenge), {"code": code}).status_code == 404

    # Even with the id put back into the session, the used code runs nothing.
    session = anna.session
    session[stepup.SESSION_KEY] = {str(challenge.public_id): "/cards/"}
    session.save()
    response = anna.post(_confirm_url(challenge), {"code": code})
    assert response.status_code == 200
    assert "Ta operacja została już potwierdzona." in response.content.decode()
    assert len(runs.calls) == 1


def test_completing_twice_is_refused(anna, cardholder, card, runs):
    challenge = _start(anna, cardholder, card)
    anna.post(_confirm_url(challenge), {"code": code_sent_to(PHONE)})
    challenge.refresh_from_db()

    with pytest.raises(ChallengeError):
        stepup.stepup_complete(actor=Actor.for_user(cardholder.user), user=cardholder.user, challenge=challenge)
    assert len(runs.calls) == 1


def test_a_wrong_code_says_how_many_tries_are_left(anna, cardholder, card, runs):
    challenge = _start(anna, cardholder, card)

    response = anna.post(_confirm_url(challenge), {"code": wrong(code_sent_to(PHONE))})

    assert response.status_code == 200
    assert "Kod jest nieprawidłowy. Pozostałe próby: 2." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert runs.calls == []


def test_three_wrong_codes_end_the_confirmation(anna, cardholder, card, runs):
    challenge = _start(anna, cardholder, card)
    code = code_sent_to(PHONE)
    for _ in range(2):
        anna.post(_confirm_url(challenge), {"code": wrong(code)})

    response = anna.post(_confirm_url(challenge), {"code": wrong(code)}, follow=True)

    assert response.redirect_chain[-1][0] == "/cards/"
    assert "Trzy razy wpisano błędny kod. Zacznij od nowa." in response.content.decode()
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.FAILED
    assert anna.post(_confirm_url(challenge), {"code": code}).status_code == 404
    assert runs.calls == []


def test_an_expired_code_is_refused_and_a_new_one_works(anna, cardholder, card, runs):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        anna.force_login(cardholder.user)
        challenge = _start(anna, cardholder, card)
        old = code_sent_to(PHONE)
        traveller.shift(dt.timedelta(minutes=5, seconds=1))
        anna.force_login(cardholder.user)  # the session itself would have ended too
        session = anna.session
        session[stepup.SESSION_KEY] = {str(challenge.public_id): "/cards/"}
        session.save()

        page = anna.get(_confirm_url(challenge))
        assert "Kod wygasł. Poproś o nowy." in page.content.decode()
        response = anna.post(_confirm_url(challenge), {"code": old})
        assert "Kod wygasł. Poproś o nowy." in response.content.decode()
        assert runs.calls == []

        anna.post(reverse("sca:resend", kwargs={"public_id": challenge.public_id}))
        new = code_sent_to(PHONE)
        anna.post(_confirm_url(challenge), {"code": new})
    assert len(runs.calls) == 1


def test_another_users_challenge_is_a_404(anna, cardholder, second_cardholder, card, runs):
    challenge = _start(anna, cardholder, card)
    bob = Client()
    bob.force_login(second_cardholder.user)

    assert bob.get(_confirm_url(challenge)).status_code == 404
    # Even a forged session entry does not make Anna's challenge Bob's.
    session = bob.session
    session[stepup.SESSION_KEY] = {str(challenge.public_id): "/cards/"}
    session.save()
    for response in (
        bob.get(_confirm_url(challenge)),
        bob.post(_confirm_url(challenge), {"code": code_sent_to(PHONE)}),
        bob.post(reverse("sca:resend", kwargs={"public_id": challenge.public_id})),
        bob.post(reverse("sca:cancel", kwargs={"public_id": challenge.public_id})),
    ):
        assert response.status_code == 404
    assert runs.calls == []
    assert len(locmem.outbox) == 1


def test_a_challenge_started_in_another_session_is_a_404(anna, cardholder, card, runs):
    challenge = _start(anna, cardholder, card)
    other = Client()
    other.force_login(cardholder.user)

    assert other.post(_confirm_url(challenge), {"code": code_sent_to(PHONE)}).status_code == 404
    assert runs.calls == []


def test_cancel_ends_the_confirmation_and_runs_nothing(anna, cardholder, card, runs):
    challenge = _start(anna, cardholder, card)

    response = anna.post(reverse("sca:cancel", kwargs={"public_id": challenge.public_id}), follow=True)

    assert response.redirect_chain[-1][0] == "/cards/"
    assert "Operacja została anulowana; nic nie zostało zmienione." in response.content.decode()
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.CANCELLED
    assert runs.calls == []


def test_resend_sends_a_new_code_naming_the_same_operation(anna, cardholder, card, runs):
    challenge = _start(anna, cardholder, card)

    response = anna.post(reverse("sca:resend", kwargs={"public_id": challenge.public_id}), follow=True)

    assert "Wysłaliśmy nowy kod." in response.content.decode()
    assert len(locmem.outbox) == 2
    assert challenge.description in locmem.outbox[-1].text


def test_a_refused_operation_shows_its_message_and_is_audited(anna, cardholder, card, runs):
    runs.refuse = True
    challenge = _start(anna, cardholder, card)

    response = anna.post(_confirm_url(challenge), {"code": code_sent_to(PHONE)}, follow=True)

    assert response.redirect_chain[-1][0] == "/cards/"
    assert "The limit cannot be raised now." in response.content.decode()
    challenge.refresh_from_db()
    assert challenge.completed_at is None
    assert AuditEvent.objects.get(action="sca.operation.refused").after == {
        "operation": OPERATION,
        "reason": "limit_refused",
    }


def test_the_confirmation_page_needs_a_signed_in_cardholder(settings, anna, cardholder, card, staff_user, runs):
    challenge = _start(anna, cardholder, card)
    url = _confirm_url(challenge)

    anonymous = Client()
    assert anonymous.get(url).status_code == 302
    assert anonymous.get(url)["Location"].startswith(reverse("users:login"))
    # Staff sign in to the back office, not here (ModelBackend stands in for its backend).
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, MODEL_BACKEND]
    staff = Client()
    staff.force_login(staff_user, backend=MODEL_BACKEND)
    assert staff.get(url).status_code == 403
    assert staff.post(url, {"code": code_sent_to(PHONE)}).status_code == 403
    assert anna.put(url).status_code == 405
    assert runs.calls == []


def test_the_confirmation_post_needs_the_csrf_token(cardholder, card, runs):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cardholder.user)
    challenge = _start(strict, cardholder, card)

    response = strict.post(_confirm_url(challenge), {"code": code_sent_to(cardholder.customer.phone_on_file)})

    assert response.status_code == 403
    assert runs.calls == []


def test_the_page_is_never_stored(anna, cardholder, card, runs):
    challenge = _start(anna, cardholder, card)
    response = anna.get(_confirm_url(challenge))
    assert "no-store" in response["Cache-Control"]


def test_a_clear_secret_in_the_payload_is_refused(anna, cardholder, card, runs):
    for key in ("pin", "password", "new_pin", "_verification"):
        with pytest.raises(ValueError, match="not allowed"):
            begin(anna, cardholder.user, operation=OPERATION, payload={key: "1234", "amount": 1}, card=card)
    assert locmem.outbox == []


def test_somebody_elses_card_is_refused(anna, cardholder, second_cardholder, debit_product, runs):
    bobs_card = factories.card_factory(customer=second_cardholder.customer, product=debit_product)
    with pytest.raises(PermissionDenied):
        begin(anna, cardholder.user, operation=OPERATION, payload={"amount": 1}, card=bobs_card)
    assert locmem.outbox == []


def test_operations_are_registered_once_and_by_name(runs):
    with pytest.raises(ImproperlyConfigured):
        stepup.register(OPERATION, describe=lambda **kwargs: "")(lambda **kwargs: None)  # type: ignore[arg-type]
    with pytest.raises(ImproperlyConfigured):
        stepup.operation_get("tests.unknown")
    assert {"users.password.change", "users.own_login.set", "users.phone.change"} <= set(stepup.operation_names())


def test_codes_go_to_the_phone_on_file_without_a_portal_phone(client, cardholder, card, runs):
    cardholder.user.portal_phone = None
    cardholder.user.save(update_fields=["portal_phone"])
    client.force_login(cardholder.user)
    _start(client, cardholder, card)
    assert locmem.outbox[-1].to == cardholder.customer.phone_on_file


def test_without_any_phone_the_confirmation_is_refused(client, cardholder, card, runs):
    customer = cardholder.customer
    customer.phone_on_file = None
    customer.save(update_fields=["phone_on_file"])
    cardholder.user.portal_phone = None
    cardholder.user.save(update_fields=["portal_phone"])
    client.force_login(cardholder.user)

    response = begin(client, cardholder.user, path="/cards/", operation=OPERATION, payload={"amount": 1}, card=card)

    assert response.status_code == 302 and response["Location"] == "/cards/"
    assert not SmsChallenge.objects.exists() and locmem.outbox == []


def test_too_many_confirmations_in_an_hour_are_refused(anna, cardholder, card, runs):
    for _ in range(stepup.MAX_STEP_UPS_PER_HOUR):
        _start(anna, cardholder, card)
    response = begin(anna, cardholder.user, path="/cards/", operation=OPERATION, payload={"amount": 1}, card=card)
    assert response["Location"] == "/cards/"
    assert SmsChallenge.objects.count() == stepup.MAX_STEP_UPS_PER_HOUR


# --- The rule lives with the operation; every channel asks the same way ----------------------------

RULED = "tests.limit.change"


@pytest.fixture
def ruled(monkeypatch) -> Runs:
    """A limit change whose rule is the operation's: a code only when the amount goes above 1 000."""
    monkeypatch.setattr(stepup, "_registry", dict(stepup._registry))
    record = Runs()

    def goes_up(*, payload: Mapping[str, Any], card: Any) -> bool:
        return payload["amount"] > 1000

    def check(*, payload: Mapping[str, Any], card: Any, actor: Actor) -> None:
        if payload["amount"] < 0:
            raise DomainError("A limit cannot be negative.", code="negative")

    @stepup.register(
        RULED,
        describe=lambda **kwargs: "zmiana limitu",
        needs_code=goes_up,
        check=check,
        channels=(stepup.Channel.WEB, stepup.Channel.APP),
    )
    def run(*, user: Any, payload: Mapping[str, Any], card: Any, actor: Actor) -> stepup.StepUpResult:
        record.calls.append(dict(payload))
        return stepup.StepUpResult(message="Limit changed.")

    return record


def _request(person: Any, card: Any, amount: int, channel: str = stepup.Channel.WEB, **extra: Any):
    return stepup.stepup_request(
        actor=Actor.for_user(person.user),
        user=person.user,
        operation=RULED,
        payload={"amount": amount},
        card=card,
        channel=channel,
        **extra,
    )


def test_a_request_the_rule_lets_through_runs_at_once_without_a_code(cardholder, card, ruled):
    answer = _request(cardholder, card, 500)

    assert isinstance(answer, stepup.Completed) and answer.result.message == "Limit changed."
    assert ruled.calls == [{"amount": 500}]
    assert not SmsChallenge.objects.exists() and not locmem.outbox


def test_a_request_the_rule_holds_back_sends_a_code_and_runs_nothing(cardholder, card, ruled):
    answer = _request(cardholder, card, 5000)

    assert isinstance(answer, stepup.ConfirmationNeeded)
    assert answer.challenge.operation == RULED and answer.challenge.channel == stepup.Channel.WEB
    assert ruled.calls == []


def test_the_check_refuses_before_any_code_is_sent(cardholder, card, ruled):
    with pytest.raises(DomainError):
        _request(cardholder, card, -5)
    assert ruled.calls == [] and not SmsChallenge.objects.exists()


def test_an_app_request_belongs_to_one_device(cardholder, card, ruled):
    with pytest.raises(ValueError):
        _request(cardholder, card, 5000, channel=stepup.Channel.APP)
    device = uuid.uuid4()
    answer = _request(cardholder, card, 5000, channel=stepup.Channel.APP, app_device_id=device)
    assert isinstance(answer, stepup.ConfirmationNeeded) and answer.challenge.app_device_id == device


def test_a_channel_the_operation_does_not_name_is_refused(cardholder, card, runs):
    # The test operation of this file is registered for the portal alone.
    with pytest.raises(stepup.ChannelNotAllowed):
        stepup.stepup_request(
            actor=Actor.for_user(cardholder.user),
            user=cardholder.user,
            operation=OPERATION,
            payload={"amount": 1},
            card=card,
            channel=stepup.Channel.APP,
            app_device_id=uuid.uuid4(),
        )
    with pytest.raises(ImproperlyConfigured):
        stepup.register("tests.nowhere", describe=lambda **kwargs: "x", channels=("fax",))(lambda **kwargs: None)  # type: ignore[arg-type]
    assert not SmsChallenge.objects.exists()


def test_somebody_elses_card_is_refused_even_without_a_code(cardholder, second_cardholder, debit_product, ruled):
    theirs = factories.card_factory(customer=second_cardholder.customer, product=debit_product)
    with pytest.raises(PermissionDenied):
        _request(cardholder, theirs, 500)
    assert ruled.calls == []


def test_the_portal_shows_a_request_that_ran_at_once_on_its_done_page(anna, cardholder, card, ruled):
    response = begin(anna, cardholder.user, path="/cards/", operation=RULED, payload={"amount": 500}, card=card)

    assert response.status_code == 302 and response["Location"] == "/cards/"
    assert ruled.calls == [{"amount": 500}] and not SmsChallenge.objects.exists()
